package auth

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/pgcdc/pgcdc/pipeline"
)

// TicketHandler serves POST /api/ticket: it exchanges the bearer token of
// the Authorization header for a single-use ticket, answered as
// {"ticket":"pgt_...","expires":"..."} with Cache-Control: no-store.
func (a *Authenticator) TicketHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "message": "POST a bearer token to get a ticket"})
			return
		}
		t, err := a.MintTicket(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	})
}

// WhoamiHandler serves GET /api/whoami: the Description of the request's
// identity. cat (may be nil, or return nil) lists the published tables.
func (a *Authenticator) WhoamiHandler(cat func() pipeline.Catalog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method_not_allowed", "message": "GET it"})
			return
		}
		id, err := a.AuthenticateRequest(r, SourceHeader, SourceCookie, SourceQuery)
		if err != nil {
			WriteError(w, err)
			return
		}
		var c pipeline.Catalog
		if cat != nil {
			c = cat()
		}
		writeJSON(w, http.StatusOK, id.Describe(c))
	})
}

// WriteError answers a refusal: the Error's status, WWW-Authenticate on a
// 401, and {"error":"<reason>","message":"..."}. An error that is not an
// *Error is a 500 whose text is not shown.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "internal error"})
		return
	}
	if e.Status() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", e.WWWAuthenticate())
	}
	writeJSON(w, e.Status(), map[string]string{"error": string(e.Reason), "message": e.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
