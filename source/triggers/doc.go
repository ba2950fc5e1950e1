// Package triggers is the source for databases without logical
// replication (source.type triggers): AFTER ROW triggers copy every change
// into an outbox table that pgcdc owns, and a relay reads it in order,
// writes it to the pipeline and deletes what every sink acknowledged.
//
// # Capture
//
// `pgcdc triggers install` creates <schema>.outbox (xid xid8, id, captured,
// schema_name, table_name, op, old_row json, new_row json), the SECURITY
// DEFINER function <schema>.capture() that inserts row_to_json(OLD) and
// row_to_json(NEW), a statement trigger for TRUNCATE, and a statement
// trigger that sends pg_notify('<schema>_outbox', ”) as a wake-up only
// (wake: poll leaves it out: NOTIFY takes a lock that serialises
// committing transactions server-wide). The capture function pins the
// replication source's output settings (TimeZone UTC, DateStyle ISO,
// IntervalStyle iso_8601, extra_float_digits 3, bytea_output hex) with SET
// clauses, which apply while it runs and are restored after. Rows are
// stored as json, not jsonb: json keeps row_to_json's text as written
// (the digits of numeric and int8, 1e+300 and -0 of a float, the
// key order and spacing of a json column), where jsonb would re-encode
// numbers and normalise json values.
//
// # Values
//
// source/internal/rowjson recovers each value's text output form from
// row_to_json's JSON by its column's type (booleans, XSD date-times,
// arrays and composites are the only forms that differ) and converts it
// with the replication source's own codecs: the events carry the same JSON
// as the replication source's (TestTypesMatchReplication compares both on
// one table). Numbers never pass through float64. Types with their own
// cast to json (hstore) arrive as a JSON string of that JSON.
//
// # Order and ids
//
// A transaction's rows are delivered together, in the order it wrote them,
// and transactions in the order of their ids (xid8), not of their commits:
// without logical decoding the commit order of concurrent transactions is
// not known. The relay reads only transactions below the current
// snapshot's xmin: every one of them has ended, so no row can appear later
// before what was read. The price: any open transaction that has written
// anything (to any table) holds back delivery of every later one until it
// ends (pgcdc_triggers_held_back_rows, pgcdc_triggers_oldest_pending_seconds).
// Changes to one row keep their order within a transaction always, and
// across transactions whenever the later writer of the row got its xid
// after the earlier one: PostgreSQL assigns an xid at a transaction's
// first write, so this holds when the conflicting write is the later
// transaction's first. It does not hold when a transaction that had
// already written elsewhere (so has the lower xid) waits on the row lock
// of a younger one: its change is then delivered first. Commit order
// would need logical decoding.
//
// The event id is the xid8 as 16 hexadecimal digits, ':' and the row's position
// in its transaction: stable across restarts (rows are deleted only by
// whole transactions), sorted in delivery order. commit_lsn holds the same
// xid8 in the LSN notation; commit_time is the commit timestamp when
// track_commit_timestamp is on, else the capture time of the transaction's
// first statement.
//
// # Acknowledgement
//
// Each transaction's last batch ends at its xid8; the pipeline confirms
// the newest transaction that every sink acknowledged with everything
// before it, and the relay deletes the rows up to it (DELETE ... WHERE xid
// <= confirmed). A crash or a lost connection loses nothing: undeleted rows
// are read again, with the same ids (at-least-once). One relay works on an
// outbox at a time: it holds a session advisory lock derived from the
// outbox's name, and a second relay waits for it (do not connect through a
// transaction-pooling proxy, which breaks session locks).
package triggers
