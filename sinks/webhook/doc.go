// Package webhook is the durable HTTP sink: it POSTs every change to one
// receiver, in commit order, at least once, signed with Standard Webhooks
// headers (ARCHITECTURE §3, §4, §6).
//
// # Flow and acknowledgement
//
//	inbox ──Batch──► runner: events into a request body ──► deliver (retry) ──► 2xx
//	                    ▲                                        │ permanent / gave up
//	                    └── Ack, in order, when every event ◄────┴─► dead-letter file (fsync)
//
// One request is in flight at a time. A pipeline batch may be split over
// several requests and a request may span several batches; a batch is
// acknowledged only when all its events were answered 2xx or written to
// the dead-letter file, and batches are acknowledged in the order taken.
// While a request is retried the sink reads nothing more, so the pipeline
// backs up and PostgreSQL keeps the WAL: memory holds at most one request
// plus the rest of the batch it came from.
//
// # Bodies
//
// Format "event": the event JSON, or with batch.max_events > 1 always a
// JSON array of events (application/json). Format "cloudevents": a
// CloudEvents 1.0 structured-mode envelope (application/cloudevents+json)
// or, with max_events > 1, an array of them
// (application/cloudevents-batch+json). Bodies are built by appending the
// pipeline's pre-encoded event bytes.
//
// # Signing
//
// Every request carries webhook-id (the event id, or "<first id>-<last id>"
// for an array body: the same on every retry and replay) and
// webhook-timestamp (Unix seconds of this attempt: refreshed on every
// retry, as the specification says, so receivers can reject stale
// replays). With a secret, webhook-signature is "v1,<base64 HMAC-SHA256>"
// of "id.timestamp.body". See ParseKey for the accepted secret forms.
//
// # Retries and dead letters
//
// Network errors, timeouts, 408, 429 and 5xx are retried after
// min(initial·2^(n-1), max) less a random 0–20 %, lengthened to honour a
// Retry-After (seconds or HTTP date) up to retry.max. A request whose next
// attempt would start more than retry.max_elapsed after its first gives
// up. Other statuses, 3xx included (redirects are not
// followed), fail at once. A request that fails for good is appended to
// the dead_letter JSON-lines file (see DeadLetter) and acknowledged; with
// no dead_letter, Run returns a *DeliveryError and the pipeline stops
// without confirming the events, which are re-sent after a restart.
// Replay re-sends a dead-letter file.
package webhook
