// Package live is the HTTP layer shared by the live sinks (SSE and
// WebSocket) and /api/changes, over the transport-agnostic broadcast core
// (package hub).
//
// # Layers
//
//   - Gate: every request passes Gate.Admit first — the Host check
//     against DNS rebinding (HostPolicy, 421), the Origin check and CORS
//     headers (Origins, 403), then the Authorizer, which returns the
//     request's Scope. Authentication (server.auth) plugs in there:
//     NewAuthorizer over an *auth.Authenticator (401/403 with a reason,
//     WWW-Authenticate; a WebSocket without a credential is admitted
//     deferred, AdmitWebSocket, and authenticates with its first message,
//     AuthorizeMessage). The Scope is applied to every event before the
//     client's own filter (Transform), CheckScope refuses tables outside
//     it (403), and its identity's DisconnectAt ends the stream
//     (Client.SetExpiry, ErrExpired).
//   - ParseQuery, Compile, CheckID: strict parameters, each bad one a
//     Problem naming it (400 through WriteProblems, or a WebSocket error
//     message).
//   - Register: the client joins the hub (503 during shutdown);
//     Client.Subscribe places a subscription, routed through the hub's
//     audience index when the scope is authenticated (hub.SeekRouted):
//     the hub then hands it only what its scope may see, already scoped.
//   - Conn, Hijack, HijackWriter: the hijacked HTTP/1.1 connection a
//     stream writes itself, with a write deadline it keeps and a lock that
//     serialises writers and seals the connection after the protocol's
//     last frame.
//   - Client: the per-connection writer loop. It reads the hub through the
//     client's subscriptions (Sub), coalesces everything pending into one
//     buffer and sends it with one write per wake-up; a Protocol (SSE,
//     WebSocket) frames events, resets and heartbeats and handles client
//     requests. An idle client holds only its Client (its first
//     subscription without an allocation) and its goroutine; a cycle's
//     buffers are pooled.
//   - Changes: the /api/changes handler.
//
// # Shutdown
//
// The pipeline closes each sink's input; the sink's hub closes, every
// Client.Serve returns hub.ErrClosed after the events already published,
// and the protocol ends its connection (SSE: the last chunk; WebSocket:
// close 1001). The hub waits for its clients until the caller's context
// ends (the one drain deadline); the HTTP server is shut down after, with
// what is left of it.
package live
