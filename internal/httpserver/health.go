package httpserver

import (
	"encoding/json"
	"net/http"
)

// health answers /healthz: 200 while the process serves.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyBody is the JSON of /readyz.
type readyBody struct {
	Status string            `json:"status"`           // "ready" or "not ready"
	Failed map[string]string `json:"failed,omitempty"` // check name → what is not ready
}

// ready answers /readyz: 200 when every check passes, 503 naming the ones
// that do not (and "server" while shutting down).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := s.checks
	s.mu.Unlock()
	body := readyBody{Status: "ready"}
	fail := func(name, why string) {
		if body.Failed == nil {
			body.Failed = map[string]string{}
		}
		body.Failed[name] = why
	}
	switch {
	case s.stopping.Load():
		fail("server", "shutting down")
	case !s.open.Load():
		fail("server", "starting")
	}
	for _, c := range checks {
		if err := c.fn(); err != nil {
			fail(c.name, err.Error())
		}
	}
	status := http.StatusOK
	if body.Failed != nil {
		body.Status, status = "not ready", http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
