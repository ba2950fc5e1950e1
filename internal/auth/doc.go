// Package auth is the transport-independent core of access control for
// pgcdc's live endpoints (SSE, WebSocket, /api/changes): who a request is
// (Authenticator), what it may read (Scope), and how to deliver one event
// to many scoped clients cheaply (Index). docs/security.md is the user's
// side of it.
//
// # Flow
//
// A transport calls FromRequest for the credential (the Authorization
// header, the pgcdc_token cookie, a WebSocket's first message parsed by
// ParseAuthMessage, the access_token query parameter, in that order) and
// Authenticator.Authenticate for the Identity: a static token (mode token,
// compared in constant time), a JWT (mode jwt: an explicit algorithm
// allowlist, exp required, nbf, iat, aud and iss checked with a leeway,
// keys from a secret, a PEM file or a JWKS), or a ticket that POST
// /api/ticket minted from a bearer token (single use, ~30 s, bound to the
// token's identity and never outliving it). Every refusal is an *Error
// whose Reason a 401/403 body may show and whose message holds no token,
// secret or key.
//
// The Identity's Scope is the configured Policy (Rules: tables, forced row
// filters, column rules) with the token's claims bound in as typed values
// of the filter grammar (transform.NewCond): a claim never becomes filter
// text, and a claim the scope needs and the token lacks refuses the token.
// Scope.Apply is applied to every event before the client's own
// subscription: it hides what the scope does not allow, drops denied
// columns from before, after, key and unchanged_toast, tests deletes on
// the old row, and turns an update that moves a row across scopes into a
// delete for the old scope and an insert for the new. Policy.CheckCatalog
// refuses, at startup, a forced filter on a column that old rows do not
// carry, naming the ALTER TABLE ... REPLICA IDENTITY FULL that fixes it.
//
// Identity.Expires and Identity.DisconnectAt (jittered) tell the transport
// when to send auth_expired and end the stream; Identity.Describe is the
// body of GET /api/whoami.
//
// For fan-out, Index groups subscribers by policy and bound claims and
// looks an event's audience up by the equality key of its row's value,
// so 1,000 clients of 1,000 tenants cost one lookup per event, not 1,000
// filter evaluations (BenchmarkRoute).
//
// # Concurrency
//
// Authenticator, Policy, Scope, Tickets and Index are safe for concurrent
// use. Identities, scopes and the events Apply and Index return are
// immutable: never modify them.
package auth
