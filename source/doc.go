// Package source reads a PostgreSQL logical replication slot with the
// pgoutput plugin and turns committed transactions into pipeline batches.
//
// # Flow
//
//	Prepare: SQL connection → preflight (wal_level, REPLICATION, slot,
//	         publication; create them when configured) → slot's confirmed
//	         position → catalog of published tables
//	Run:     replication connection → START_REPLICATION (proto_version 1,
//	         or 2 on PostgreSQL 14+, never streaming or two_phase)
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
// # Reconnects
//
// A lost connection is retried with exponential backoff and jitter. The
// new session starts after the last transaction already handed to the
// pipeline (those are still being delivered), so an in-process reconnect
// causes no duplicates; a process restart resumes from the confirmed
// position and re-delivers the unconfirmed tail with the same event ids.
// Errors that retrying cannot fix (authentication, missing slot or
// publication, missing privileges) are FatalError and stop Run.
//
// # Values
//
// pgoutput sends values in PostgreSQL's text format, formatted with the
// walsender session's settings; the source pins them (TimeZone=UTC,
// DateStyle=ISO, IntervalStyle=iso_8601, extra_float_digits=3,
// bytea_output=hex) and converts each to lossless JSON by type (values.go,
// types.go). Enums, domains and their arrays are resolved once through
// pg_type.
package source
