// Package nats is the nats sink: it appends every event to a NATS
// JetStream stream, so that other processes (pgcdc edge) can serve and
// deliver the changes independently of the slot reader (README, "Scaling
// out").
//
// # What is in the stream
//
// One message per event: the subject from the sink's template (default
// pgcdc.{schema}.{table}.{op}), the event's JSON as the body, and the
// headers of internal/natsconn (Nats-Msg-Id = the event id, so that
// JetStream drops a duplicate within its duplicate window; the commit
// time; the stream's epoch).
//
// # Order and fencing
//
// The stream is sorted by event id, across restarts and failovers,
// whatever the duplicate window. When it starts, and after every failed
// publish, the writer reads the stream's last message and skips the
// events whose id is not above it (PostgreSQL re-sends the unconfirmed
// tail after a restart). Every publish carries the sequence it expects
// the stream to end at (Nats-Expected-Last-Sequence): if another writer
// appended meanwhile (a zombie leader after a failover, see internal/ha),
// JetStream refuses the message, and this writer reads the tail again
// instead of interleaving.
//
// # Acknowledgement
//
// Events are published asynchronously with at most MaxInflight awaiting
// their PubAck. A batch is acknowledged only when every event of it has
// its PubAck (or is already in the stream), so the slot is confirmed only
// after JetStream stored the events. While NATS is unreachable the sink
// keeps what it holds, retries with backoff and stops taking batches: the
// pipeline waits, PostgreSQL keeps the WAL, nothing is skipped.
//
// # Catalog
//
// The source's tables and column types are written to a KV bucket
// (natsconn.CatalogBucket) before the first event of a changed table, so that an
// edge filters and checks subscriptions with the same types as the slot
// reader.
package nats
