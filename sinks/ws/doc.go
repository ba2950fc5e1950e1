// Package ws is the WebSocket broadcast sink (type: websocket), built on
// github.com/gorilla/websocket and the shared hub (package hub).
//
// # Protocol (ARCHITECTURE §5)
//
// Messages are JSON text frames. Client → server:
//
//	{"type":"subscribe","id":"s1","table":["public.orders"],"op":["insert"],
//	 "filter":["status=eq.paid"],"select":["id","status"],"resume_from":"<event id>"}
//	{"type":"unsubscribe","id":"s1"}
//	{"type":"auth","token":"<token>"}
//
// table, op, filter and select take an array of strings or one string; op
// and select entries may be comma lists. Server → client:
//
//	{"type":"subscribed","id":"s1"}
//	{"type":"unsubscribed","id":"s1"}
//	{"type":"event","sub":"s1","event":{...}}
//	{"type":"reset","sub":"s1","reason":"..."}
//	{"type":"error","id":"s1","message":"filter: ...","errors":[{"param":"filter","message":"..."}]}
//	{"type":"authenticated"}
//	{"type":"auth_expired","message":"..."}
//
// With server.auth, a handshake without a credential is upgraded and must
// send its auth message first, within auth.AuthMessageTimeout; the URL's
// subscription opens after it. At the identity's DisconnectAt the server
// sends auth_expired and pauses the stream for ReauthGrace: a new token of
// the same scope (auth.Scope.Same) resumes it, nothing lost.
//
// The query parameters table, op, filter, select and resume_from on the
// connection URL open one subscription with id "default" at connect time
// (only when at least one is present). A connection holds up to
// Config.MaxSubscriptions subscriptions; each has its own position in the stream,
// so resume_from replays per subscription. Invalid JSON, an unknown message
// type or field, and a bad subscription get an error message; the
// connection stays open.
//
// # Close codes
//
//	1000 normal closure   the server answers a client's close with the client's code
//	1001 going away       the server is shutting down; sent after the last events
//	1009 message too big  a client message exceeded max_message_bytes (the
//	                      server reads away the rest of it before closing, so
//	                      the client gets the frame, not a reset connection)
//	1011 internal error   an unexpected server failure
//	1008 policy violation more than client_messages_per_second messages a second
//	1013 try again later  the client fell more than client_buffer events behind
//	                      (or out of the replay buffer); the reason says so:
//	                      reconnect and resume each subscription from its last id
//	4001 unauthorized     no auth message in time, another message first, a bad
//	                      token, or no new token within ReauthGrace of auth_expired
//	4003 forbidden        re-authenticated with a token of another scope
//
// A client that stops answering pings, or whose writes do not complete
// within write_timeout, is disconnected without a close frame (it cannot
// read one).
//
// # Goroutines and memory
//
// Each connection has one reader goroutine (client messages, pongs) and one
// writer goroutine (everything the server sends: package live's client
// loop, with the connection as its protocol). The writer reads the hub's
// replay ring through one cursor per subscription, frames everything
// pending itself (unmasked text frames, pings) into one buffer and writes
// it with one system call, with a deadline; gorilla does the handshake,
// reads, and writes the close frames and pongs. A close frame seals the
// connection (live.Conn) under its lock: no data frame follows it. The buffers the writer uses are pooled, so an
// idle connection holds only its two goroutines, a 512-byte read buffer and
// its subscriptions.
package ws
