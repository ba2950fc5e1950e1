package auth

import (
	"math/rand/v2"
	"time"
)

// Method says how an identity was authenticated.
type Method string

// The authentication methods, as server.auth.mode names them.
const (
	MethodNone  Method = "none"  // mode none: everyone, everything
	MethodToken Method = "token" // a static token
	MethodJWT   Method = "jwt"   // a verified JWT
)

// MaxDisconnectJitter bounds how long before its expiry a stream may be
// cut, so that clients whose tokens were issued together do not all
// reconnect in the same second.
const MaxDisconnectJitter = 30 * time.Second

// Identity is an authenticated client: who it is, how long it may stay,
// and what it may read. It is immutable once returned.
type Identity struct {
	// Subject names the client in logs and in whoami: a JWT's sub, a
	// static token's name. It is not a secret.
	Subject string
	Method  Method
	// Source is where the credential was found.
	Source Source
	// Ticket is set when the credential was a ticket (POST /api/ticket);
	// Source is then where the ticket was found.
	Ticket bool
	// Expires is when the credential expires (a JWT's exp); zero for a
	// credential that does not (a static token). A stream must end,
	// with an auth_expired message, by then.
	Expires time.Time
	// Scope is what the client may read; never nil.
	Scope *Scope

	disconnectAt time.Time
}

// newIdentity sets the jittered disconnect time of an identity that
// expires: a random moment in the last tenth of the time left, at most
// MaxDisconnectJitter before the expiry.
func newIdentity(id Identity, now time.Time) *Identity {
	if !id.Expires.IsZero() {
		window := id.Expires.Sub(now) / 10
		window = min(window, MaxDisconnectJitter)
		id.disconnectAt = id.Expires
		if window > 0 {
			id.disconnectAt = id.Expires.Add(-rand.N(window))
		}
	}
	return &id
}

// DisconnectAt returns when the transport should send auth_expired and
// cut the stream: shortly before Expires, jittered per identity; zero
// when the identity does not expire.
func (id *Identity) DisconnectAt() time.Time { return id.disconnectAt }

// Expired reports whether the identity has expired at now.
func (id *Identity) Expired(now time.Time) bool {
	return !id.Expires.IsZero() && !now.Before(id.Expires)
}
