package hub

import (
	"net/url"
	"strings"
)

// Origins is a broadcast sink's allowed_origins: the browser origins that
// may read its stream. The zero value allows same-origin requests only.
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

// Any reports whether every origin is allowed ("*").
func (o Origins) Any() bool { return o.any }

// SameOrigin reports whether origin names the host the request was sent to
// (host is the request's Host header).
func SameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// Allowed reports whether a request with the Origin header origin, sent to
// host, may read the stream. A request without an Origin header (not from
// a browser, or a same-origin GET) is allowed.
func (o Origins) Allowed(origin, host string) bool {
	if origin == "" || o.any || SameOrigin(origin, host) {
		return true
	}
	_, ok := o.exact[strings.TrimSuffix(strings.ToLower(origin), "/")]
	return ok
}
