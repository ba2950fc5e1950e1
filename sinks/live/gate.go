package live

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Scope is what an authorized request may read. It is applied to every
// event before the client's own subscription, so a client filter can only
// narrow it. The zero Scope reads everything.
type Scope struct {
	// Filter keeps the events (and the parts of them) the request may
	// read; nil keeps everything.
	Filter pipeline.Transform
}

// Authorizer authenticates a request to a live endpoint and returns its
// scope. It is called by Gate.Admit after the Host and Origin checks and
// before the request's parameters are read; it must be safe for concurrent
// use. Its error is answered 401, or with the status of an *AuthError.
type Authorizer interface {
	Authorize(r *http.Request) (Scope, error)
}

// AuthError is an Authorizer's refusal with its HTTP status (401: no or a
// bad credential; 403: a credential without the right).
type AuthError struct {
	Status  int
	Message string
}

// Error returns the message.
func (e *AuthError) Error() string { return e.Message }

// Gate admits requests to the live endpoints (SSE, WebSocket,
// /api/changes). Admit is the one place every such request passes, in
// this order:
//
//  1. Host: the request's Host must be one the server answers to (see
//     HostPolicy), or it gets 421. This is what stops DNS rebinding: a
//     page on evil.example that resolved its name to 127.0.0.1 sends
//     Host: evil.example.
//  2. Origin: a browser's cross-origin request must come from one of the
//     endpoint's allowed origins, or it gets 403; an allowed one gets the
//     CORS headers. Same-origin is judged against the Host checked in 1.
//  3. Authorization: the Authorizer (none: everyone, everything) returns
//     the request's Scope, applied before any client filter.
//
// A nil *Gate is the default policy without an Authorizer. A Gate is safe
// for concurrent use.
type Gate struct {
	hosts HostPolicy
	auth  Authorizer
}

// NewGate returns the gate for the server's allowed_hosts and auth (nil:
// no authentication).
func NewGate(allowedHosts []string, auth Authorizer) (*Gate, error) {
	hp, err := NewHostPolicy(allowedHosts)
	if err != nil {
		return nil, err
	}
	return &Gate{hosts: hp, auth: auth}, nil
}

// Admit checks r as described on Gate against the endpoint's allowed
// origins. When it refuses, it has answered the request and returns false.
func (g *Gate) Admit(w http.ResponseWriter, r *http.Request, origins Origins) (Scope, bool) {
	var hosts HostPolicy
	var auth Authorizer
	if g != nil {
		hosts, auth = g.hosts, g.auth
	}
	if !hosts.Allowed(r.Host) {
		WriteError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not served here: list it in server.allowed_hosts (a check against DNS rebinding)", r.Host), nil)
		return Scope{}, false
	}
	origin := r.Header.Get("Origin")
	allowed, cross := origins.check(origin, r.Host)
	if !allowed {
		WriteError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not allowed: list it in the sink's allowed_origins", origin), nil)
		return Scope{}, false
	}
	if cross {
		origins.setCORS(w.Header(), origin)
	}
	if auth == nil || r.Method == http.MethodOptions {
		return Scope{}, true // a preflight carries no credentials
	}
	scope, err := auth.Authorize(r)
	if err != nil {
		status := http.StatusUnauthorized
		var ae *AuthError
		if errors.As(err, &ae) && ae.Status != 0 {
			status = ae.Status
		}
		WriteError(w, status, err.Error(), nil)
		return Scope{}, false
	}
	return scope, true
}

// HostPolicy is the set of Host header values the server answers to. A
// request's host (without its port) is allowed when it is
//   - an IP address literal (127.0.0.1, [::1], 192.0.2.10): no DNS answer
//     can rebind it, and a page with that origin is served by the server
//     itself;
//   - localhost, which browsers resolve to loopback themselves;
//   - listed in server.allowed_hosts: "app.example.com" (any port) or
//     "app.example.com:8443" (that port only); "*" allows every host (no
//     protection: for a proxy that checks Host itself).
//
// The zero HostPolicy allows IP literals and localhost.
type HostPolicy struct {
	any   bool
	names map[string]bool // lower-cased host or host:port
}

// NewHostPolicy returns the policy for allowed_hosts.
func NewHostPolicy(allowed []string) (HostPolicy, error) {
	var p HostPolicy
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		switch {
		case a == "*":
			p.any = true
			continue
		case a == "" || strings.ContainsAny(a, "/@ ?#"):
			return HostPolicy{}, fmt.Errorf("allowed host %q: want a host name, optionally with a port, such as app.example.com or app.example.com:8443", a)
		}
		if p.names == nil {
			p.names = map[string]bool{}
		}
		p.names[strings.TrimSuffix(a, ".")] = true
	}
	return p, nil
}

// Allowed reports whether hostport, a request's Host header, is allowed.
func (p HostPolicy) Allowed(hostport string) bool {
	if p.any {
		return true
	}
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(host, ".")
	switch {
	case host == "":
		return false
	case host == "localhost", net.ParseIP(host) != nil && !strings.Contains(hostport, "%"):
		return true
	}
	return p.names[host] || p.names[strings.TrimSuffix(hostport, ".")]
}
