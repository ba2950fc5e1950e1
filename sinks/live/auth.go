package live

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgcdc/pgcdc/internal/auth"
)

var authRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "pgcdc_auth_refusals_total",
	Help: "Requests and WebSocket auth messages refused by server.auth, by reason (missing_token, token_expired, forbidden, ...).",
}, []string{"reason"})

func init() {
	prometheus.MustRegister(authRefusals)
	for _, r := range auth.Reasons { // series from the start: zeros, not nothing
		authRefusals.WithLabelValues(string(r))
	}
	authRefusals.WithLabelValues("internal")
}

// NewAuthorizer returns the Authorizer of the live endpoints over a
// (server.auth): a request's credential comes from the Authorization
// header, the pgcdc_token cookie or the access_token parameter, and a
// WebSocket's from its auth message too. With mode none every request is
// admitted with the zero Scope.
func NewAuthorizer(a *auth.Authenticator) MessageAuthorizer { return authenticator{a} }

type authenticator struct{ a *auth.Authenticator }

// Authorize implements Authorizer.
func (x authenticator) Authorize(r *http.Request) (Scope, error) {
	if x.a.Mode() == auth.MethodNone {
		return Scope{}, nil
	}
	id, err := x.a.AuthenticateRequest(r)
	if err != nil {
		return Scope{}, authError(err)
	}
	return ScopeOf(id), nil
}

// AuthorizeMessage implements MessageAuthorizer.
func (x authenticator) AuthorizeMessage(ctx context.Context, msg []byte) (Scope, error) {
	c, err := auth.ParseAuthMessage(msg)
	if err != nil {
		return Scope{}, authError(err)
	}
	if x.a.Mode() == auth.MethodNone {
		return Scope{}, nil
	}
	id, err := x.a.Authenticate(ctx, c)
	if err != nil {
		return Scope{}, authError(err)
	}
	return ScopeOf(id), nil
}

// ScopeOf returns the Scope of an authenticated identity.
func ScopeOf(id *auth.Identity) Scope { return Scope{Filter: id.Scope, Identity: id} }

// authError turns an auth refusal into an *AuthError (whose message never
// holds the credential) and counts it.
func authError(err error) *AuthError {
	var e *auth.Error
	if !errors.As(err, &e) {
		authRefusals.WithLabelValues("internal").Inc()
		return &AuthError{Status: http.StatusInternalServerError, Reason: "internal", Message: "authentication failed"}
	}
	authRefusals.WithLabelValues(string(e.Reason)).Inc()
	ae := &AuthError{Status: e.Status(), Reason: string(e.Reason), Message: e.Error(), Missing: e.Reason == auth.ReasonMissing}
	if ae.Status == http.StatusUnauthorized {
		ae.WWWAuthenticate = e.WWWAuthenticate()
	}
	return ae
}

// Forbidden returns the *AuthError (403) of a scope check's refusal
// (Scope.CheckTables), counted like the other refusals.
func Forbidden(err error) *AuthError { return authError(err) }

var limitHits = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "pgcdc_http_limit_hits_total",
	Help: "Requests, connections and client messages refused by a server.limits limit, by limit (connections, connections_per_ip, subscriptions, client_messages, message_bytes).",
}, []string{"limit"})

// Limits are the values of pgcdc_http_limit_hits_total's limit label.
var Limits = []string{"connections", "connections_per_ip", "subscriptions", "client_messages", "message_bytes"}

func init() {
	prometheus.MustRegister(limitHits)
	for _, l := range Limits {
		limitHits.WithLabelValues(l)
	}
}

// LimitHit counts one refusal by the server.limits limit named limit.
func LimitHit(limit string) { limitHits.WithLabelValues(limit).Inc() }
