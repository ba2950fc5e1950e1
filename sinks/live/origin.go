package live

import (
	"net/http"
	"net/url"
	"strings"
)

// Origins is an endpoint's allowed_origins: the browser origins that may
// read it from another origin. The zero value allows same-origin requests
// only.
type Origins struct {
	any   bool
	exact map[string]struct{} // lower-cased, without a trailing slash
}

// NewOrigins returns the policy for the configured list: "*" allows every
// origin; other entries are origins such as "https://app.example.com",
// compared case-insensitively.
func NewOrigins(allowed []string) Origins {
	var o Origins
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), "/")
		switch a {
		case "":
		case "*":
			o.any = true
		default:
			if o.exact == nil {
				o.exact = make(map[string]struct{})
			}
			o.exact[a] = struct{}{}
		}
	}
	return o
}

// sameOrigin reports whether origin names the host the request was sent
// to. host is the request's Host header, which the Gate has checked
// against the allowed hosts first: compared alone, it is what the
// attacker of a DNS rebinding chooses.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// check classifies a request's Origin header: allowed as same-origin (or
// not from a browser), allowed cross-origin, or refused.
func (o Origins) check(origin, host string) (allowed, cross bool) {
	if origin == "" || sameOrigin(origin, host) {
		return true, false
	}
	if o.any {
		return true, true
	}
	_, ok := o.exact[strings.TrimSuffix(strings.ToLower(origin), "/")]
	return ok, ok
}

// setCORS sets the headers that let an allowed cross-origin page read the
// answer: with "*" any origin without credentials, otherwise the origin
// with credentials.
func (o Origins) setCORS(h http.Header, origin string) {
	if o.any {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}

// Preflight answers a CORS preflight (OPTIONS) request, after Admit: the
// methods and the request headers a page may use.
func Preflight(w http.ResponseWriter, r *http.Request, methods, headers string) {
	h := w.Header()
	h.Set("Allow", methods)
	if r.Header.Get("Origin") != "" {
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", headers)
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}
