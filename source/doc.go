// Package source reads a PostgreSQL logical replication slot with the
// pgoutput plugin and turns committed transactions into pipeline batches.
//
// # Flow
//
//	Prepare: SQL connection → Preflight (version 14+, wal_level,
//	         privileges, slot, publication; create the publication, then
//	         the slot, when configured; undo that on failure) → slot's
//	         confirmed position, server's WAL end → catalog of published
//	         tables
//	Run:     replication connection → START_REPLICATION (proto_version 2,
//	         messages, never streaming or two_phase)
//	         reader:   XLogData → pgoutput message → decoder → Batch → Writer
//	                   keepalive → remember the server's WAL end, wake the reporter
//	         reporter: every 100 ms and at once on request → decideStatus
//	                   → standby status (when progress advanced, at least
//	                   every status_interval, and when the server asks)
//
// The reader is the only goroutine that reads the connection and the
// reporter the only one that writes to it, so status updates keep flowing
// while the pipeline makes the reader wait (a slow sink never lets the
// server's wal_sender_timeout fire). What is reported and when is one pure
// function, decideStatus (status.go), tested by table.
//
// # What is confirmed
//
// The decoder emits a transaction as one or more batches; the last carries
// the commit record's end LSN. The pipeline's Progress reports the newest
// end LSN whose transaction, and every one before it, all sinks have
// acknowledged; the source reports exactly that as write, flush and apply
// position (all three set explicitly). When nothing is in flight and no
// transaction is open, it reports the server's WAL end from the last
// keepalive instead, so an idle or fully filtered slot holds no WAL. It
// never reports less than the position it started from, nor less than it
// already reported.
//
// # Slots and publications
//
// Prepare records what it created; DropCreated drops it again for a run
// that fails before streaming started, and keeps it once streaming
// started (the slot then holds undelivered changes). While Run streams, a
// watcher measures the WAL the slot retains (walwatch.go). A slot the
// server invalidated is ErrSlotLost: its changes are gone, and the error
// says how to start again.
//
// # Reconnects
//
// A lost connection is retried on internal/backoff's schedule (the
// webhook sink's too). The
// new session starts after the last transaction already handed to the
// pipeline (those are still being delivered), so an in-process reconnect
// causes no duplicates; a process restart resumes from the confirmed
// position and re-delivers the unconfirmed tail with the same event ids.
// Errors that retrying cannot fix (authentication, missing slot or
// publication, missing privileges, an invalidated slot, a message that
// cannot be decoded) are FatalError and stop Run. A catalog lookup that
// fails because the database could not be asked ends the session instead,
// and the Relation message comes again in the next.
//
// # Values
//
// pgoutput sends values in PostgreSQL's text format, formatted with the
// walsender session's settings; the source pins them (TimeZone=UTC,
// DateStyle=ISO, IntervalStyle=iso_8601, extra_float_digits=3,
// bytea_output=hex) and converts each to lossless JSON by type (values.go,
// types.go). Enums, domains and their arrays are resolved once through
// pg_type; a type dropped since its rows were written converts by what
// the stream's Type message said (a domain over a built-in type as that
// type), else as text, so no message wedges the slot. One message may
// become several batches (a TRUNCATE of more tables than batch_events).
//
// # Catalog
//
// Catalog() describes the published tables: loaded by Prepare, updated by
// Relation messages (watchers are told, pipeline.CatalogWatcher) and
// reloaded on demand, at most once a second (pipeline.CatalogRefresher).
package source
