// Package hub is the broadcast core shared by the SSE and WebSocket sinks
// (ARCHITECTURE §4–5).
//
// # Design: the replay buffer is the queue
//
// The hub keeps one bounded ring of recent events (limits by count, bytes and
// age; the first limit reached evicts the oldest). Every client reads that
// ring through its own Cursor: a position in the ring, nothing more. Publish
// appends under a short lock and wakes every waiting client at once by
// closing a channel; it never touches a client, so a stuck client cannot
// delay the pipeline, the hub or another client, and memory is the ring plus
// what each client is writing at the moment, however many clients stall.
//
// Each event is serialised once (pipeline.Event.Encoded) and every client
// that does not project writes those same bytes. A client that falls more
// than its client buffer behind, or whose next event was evicted from the
// ring, gets an *OverflowError from Next: the sink closes it with a reason,
// and the client resumes from its last id.
//
// # Resume
//
// Event ids sort in commit order, so "the events after id X" is well
// defined. Seek places a cursor:
//
//   - "" (no id): live, at the newest end.
//   - a malformed id: an error wrapping pipeline.ErrBadID (HTTP 400).
//   - X at or after the floor (the newest evicted event, or the first event
//     this hub received if nothing was evicted) and not after the newest
//     event: exactly the events with an id greater than X. X need not be an
//     id the hub holds: the buffer holds every event this sink received
//     between the floor and the newest, so nothing can be missing between
//     them.
//   - X newer than every event received: the client saw events this process
//     has not received yet (pgcdc restarted and PostgreSQL is re-sending
//     from the confirmed position). The cursor waits at the newest end and
//     skips re-sent events up to and including X: exactly the events after
//     X, no duplicates. With WithWALEnd, an X whose LSN is beyond the
//     server's WAL end is a reset instead: the server never wrote it, so X
//     comes from another timeline (a restore, or a failover to a cluster
//     with lower LSNs) and waiting for it would be a silently empty stream.
//   - X before the floor, with WithBackfill (a pgcdc edge, whose stream
//     outlives the ring): the cursor is Backfilling; Hub.Backfill reads
//     the events after X that the ring no longer holds from the store,
//     then the cursor reads the ring from where they end (events the ring
//     evicts meanwhile are read from the store too). If the store cannot,
//     it is the reset below.
//   - X before the floor, or any X while the hub has received nothing yet
//     (events after X may have been confirmed and never come again): a
//     reset. The cursor is live and the sink tells the client to reload its
//     state (SSE event: reset, WebSocket {"type":"reset"}).
//
// Seek and the first Next are atomic with respect to Publish: the cursor is
// a ring position, so events published while a client registers are simply
// ahead of it. No gap, no duplicate.
//
// # Shutdown
//
// Consume is the sink's Run. When the pipeline closes its input (after the
// source stopped and the in-flight batches were delivered), Consume closes
// the hub: every client gets the events published so far, then its stream
// ends (Next reports ErrClosed), and Consume returns once the last client
// has left or its context ends, whichever is first; then it aborts the
// rest. The hub has no clock of its own: the caller's context carries the
// one drain deadline. The HTTP server, shut down after the pipeline, finds
// the streams already ended (and ends them itself, through the sink's
// CloseStreams, if it is shut down first).
//
// # Routed fan-out
//
// A reader whose events an authenticated scope narrows (one tenant of
// many) can join the hub's audience index instead (SeekRouted, route.go):
// Publish looks each event's audience up once (auth.Index), pushes the
// scoped view onto the inboxes of that audience only, and wakes only
// their readers, so 1,000 clients of 1,000 tenants cost one lookup per
// event rather than 1,000 wake-ups and scope tests. A routed cursor reads
// the ring up to the moment it joined (a resume), then its inbox: no gap,
// no duplicate; an inbox over the client buffer is an overflow.
//
// The hub is the transport-agnostic core: it imports no net/http. The HTTP
// side (hijacked connections, query parsing, origins, the per-client write
// loop) is package live.
//
// Publish drops an event whose id is not greater than the newest id it has
// seen: PostgreSQL re-sends transactions after a reconnect, and broadcast
// clients must see each id once, in order.
package hub
