package auth

import (
	"errors"
	"net/http"
	"strconv"
)

// Reason is the category of an authentication or authorization failure:
// a stable word a 401/403 body, a WebSocket close reason or a metric label
// may show. It never carries a token, a secret or key material.
type Reason string

// The reasons an Error can have.
const (
	ReasonMissing     Reason = "missing_token"         // no credential at all
	ReasonMalformed   Reason = "malformed_token"       // not a token (charset, length, JWT shape, two credentials of a kind)
	ReasonInvalid     Reason = "invalid_token"         // a static token nobody configured
	ReasonSignature   Reason = "bad_signature"         // the signature does not verify
	ReasonAlgorithm   Reason = "algorithm_not_allowed" // alg none, or outside the allowlist (HS/RS confusion)
	ReasonUnknownKey  Reason = "unknown_key"           // kid not in the key set, even after a refresh
	ReasonExpired     Reason = "token_expired"         // exp passed (or missing: exp is required)
	ReasonNotYetValid Reason = "token_not_yet_valid"   // nbf or iat in the future
	ReasonAudience    Reason = "wrong_audience"
	ReasonIssuer      Reason = "wrong_issuer"
	ReasonClaims      Reason = "invalid_claims"   // a claim the scope needs is missing or of the wrong type
	ReasonTicket      Reason = "invalid_ticket"   // unknown, used or expired ticket
	ReasonKeys        Reason = "keys_unavailable" // the key set could not be fetched (503)
	ReasonForbidden   Reason = "forbidden"        // authenticated, but asking for what the scope denies (403)
	ReasonBusy        Reason = "too_many_tickets" // the ticket store is full (503)
)

// Reasons lists every Reason, for metrics whose series exist from the start.
var Reasons = []Reason{ReasonMissing, ReasonMalformed, ReasonInvalid, ReasonSignature, ReasonAlgorithm, ReasonUnknownKey,
	ReasonExpired, ReasonNotYetValid, ReasonAudience, ReasonIssuer, ReasonClaims, ReasonTicket, ReasonKeys, ReasonForbidden, ReasonBusy}

// Error is a refusal whose message is safe to show to the client and to
// log: it names the check that failed and what to do, never the token,
// the secret or a key. Unwrap gives the underlying sentinel (for example
// jwt.ErrTokenExpired) for errors.Is, not a message to print.
type Error struct {
	Reason  Reason
	Message string
	err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying sentinel, if any.
func (e *Error) Unwrap() error { return e.err }

// Status is the HTTP status to answer with: 401 for a missing or bad
// credential, 403 for a scope violation, 503 when the key set or the
// ticket store is unavailable.
func (e *Error) Status() int {
	switch e.Reason {
	case ReasonForbidden:
		return http.StatusForbidden
	case ReasonKeys, ReasonBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// WWWAuthenticate returns the value of the WWW-Authenticate header of a
// 401 answer (RFC 6750 §3): Bearer with error invalid_request for a
// malformed request, invalid_token otherwise, and no error code when no
// credential was sent.
func (e *Error) WWWAuthenticate() string {
	const realm = `Bearer realm="pgcdc"`
	switch e.Reason {
	case ReasonMissing:
		return realm
	case ReasonMalformed:
		return realm + `, error="invalid_request", error_description=` + strconv.Quote(string(e.Reason))
	}
	return realm + `, error="invalid_token", error_description=` + strconv.Quote(string(e.Reason))
}

// ReasonOf returns the Reason of err, or "" when err is not an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func newError(r Reason, msg string) *Error { return &Error{Reason: r, Message: msg} }

func wrapError(r Reason, msg string, sentinel error) *Error {
	return &Error{Reason: r, Message: msg, err: sentinel}
}
