package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Scope is what an authorized request may read. It is applied to every
// event before the client's own subscription, so a client filter can only
// narrow it. The zero Scope reads everything, for ever.
type Scope struct {
	// Filter keeps the events (and the parts of them) the request may
	// read; nil keeps everything.
	Filter pipeline.Transform
	// Identity is the authenticated client, nil without authentication.
	// Its DisconnectAt ends the stream (auth_expired), its Scope checks
	// the tables a client asks for (CheckTables) and routes the hub's
	// fan-out (hub.Route).
	Identity *auth.Identity
}

// DisconnectAt returns when the stream must end with auth_expired (zero:
// never).
func (s Scope) DisconnectAt() time.Time {
	if s.Identity == nil {
		return time.Time{}
	}
	return s.Identity.DisconnectAt()
}

// CheckTables refuses table patterns of a subscription that reach outside
// the scope (auth.Scope.CheckTables): the error is an *auth.Error with
// ReasonForbidden naming the table. cat may be nil.
func (s Scope) CheckTables(patterns []string, cat pipeline.Catalog) error {
	if s.Identity == nil || len(patterns) == 0 {
		return nil
	}
	return s.Identity.Scope.CheckTables(patterns, cat)
}

// Authorizer authenticates a request to a live endpoint and returns its
// scope. It is called by Gate.Admit after the Host and Origin checks and
// before the request's parameters are read; it must be safe for concurrent
// use. Its error is answered 401, or with the status of an *AuthError.
type Authorizer interface {
	Authorize(r *http.Request) (Scope, error)
}

// MessageAuthorizer is an Authorizer that also authenticates a WebSocket
// client's auth message ({"type":"auth","token":"..."}): the first
// message of a connection whose handshake carried no credential, and the
// re-authentication after auth_expired.
type MessageAuthorizer interface {
	Authorizer
	AuthorizeMessage(ctx context.Context, msg []byte) (Scope, error)
}

// AuthError is an Authorizer's refusal with its HTTP status (401: no or a
// bad credential; 403: a credential without the right). Missing marks a
// request that carried no credential at all (a WebSocket may still send
// it in its first message); WWWAuthenticate, when set, is the header of a
// 401.
type AuthError struct {
	Status int
	// Reason is a stable word for the refusal (auth.Reason: missing_token,
	// token_expired, forbidden...), shown in the body.
	Reason          string
	Message         string
	Missing         bool
	WWWAuthenticate string
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
	scope, _, ok := g.admit(w, r, origins, false)
	return scope, ok
}

// AdmitWebSocket is Admit for a WebSocket handshake: a request without
// any credential is admitted with deferred set when the Authorizer can
// take the credential from the connection's first message
// (MessageAuthorizer): the connection must then authenticate with
// AuthorizeMessage before anything else.
func (g *Gate) AdmitWebSocket(w http.ResponseWriter, r *http.Request, origins Origins) (scope Scope, deferred, ok bool) {
	return g.admit(w, r, origins, true)
}

// AuthorizeMessage authenticates a WebSocket auth message. Without an
// Authorizer that takes messages it refuses.
func (g *Gate) AuthorizeMessage(ctx context.Context, msg []byte) (Scope, error) {
	if g != nil {
		if ma, ok := g.auth.(MessageAuthorizer); ok {
			return ma.AuthorizeMessage(ctx, msg)
		}
	}
	return Scope{}, &AuthError{Status: http.StatusBadRequest, Message: "authentication is off: no auth message is needed"}
}

// Authenticates reports whether the gate has an Authorizer.
func (g *Gate) Authenticates() bool { return g != nil && g.auth != nil }

// Guard wraps h, a handler of the server's own API (/api/ticket,
// /api/whoami), with the gate's Host and Origin checks, not its
// authorization (h authenticates itself).
func (g *Gate) Guard(h http.Handler, origins Origins) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.checkHostOrigin(w, r, origins) {
			return
		}
		if r.Method == http.MethodOptions {
			Preflight(w, r, "GET, POST, OPTIONS", "Authorization, Content-Type")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// checkHostOrigin is steps 1 and 2 of Admit.
func (g *Gate) checkHostOrigin(w http.ResponseWriter, r *http.Request, origins Origins) bool {
	var hosts HostPolicy
	if g != nil {
		hosts = g.hosts
	}
	if !hosts.Allowed(r.Host) {
		WriteError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not served here: list it in server.allowed_hosts (a check against DNS rebinding)", r.Host), nil)
		return false
	}
	origin := r.Header.Get("Origin")
	allowed, cross := origins.check(origin, r.Host)
	if !allowed {
		WriteError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not allowed: list it in the sink's allowed_origins", origin), nil)
		return false
	}
	if cross {
		origins.setCORS(w.Header(), origin)
	}
	return true
}

func (g *Gate) admit(w http.ResponseWriter, r *http.Request, origins Origins, ws bool) (Scope, bool, bool) {
	if !g.checkHostOrigin(w, r, origins) {
		return Scope{}, false, false
	}
	if !g.Authenticates() || r.Method == http.MethodOptions {
		return Scope{}, false, true // a preflight carries no credentials
	}
	scope, err := g.auth.Authorize(r)
	if err == nil {
		return scope, false, true
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		ae = &AuthError{Status: http.StatusUnauthorized, Message: err.Error()}
	}
	if _, takes := g.auth.(MessageAuthorizer); ws && ae.Missing && takes {
		return Scope{}, true, true
	}
	WriteAuthError(w, ae)
	return Scope{}, false, false
}

// WriteAuthError answers an authorization refusal: its status (401 when
// unset), WWW-Authenticate on a 401, and the JSON ErrorBody.
func WriteAuthError(w http.ResponseWriter, ae *AuthError) {
	status := ae.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	if status == http.StatusUnauthorized && ae.WWWAuthenticate != "" {
		w.Header().Set("WWW-Authenticate", ae.WWWAuthenticate)
	}
	if ae.Reason == "" {
		writeBody(w, status, ErrorBody{Error: ae.Message})
		return
	}
	writeBody(w, status, ErrorBody{Error: ae.Reason, Message: ae.Message})
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
