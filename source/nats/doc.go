// Package nats is the source of an edge (pgcdc edge): it reads the
// JetStream stream that a slot reader's nats sink writes (package
// sinks/nats) and emits the same events, in the same order, with the
// same ids, so that an edge is the same pipeline as pgcdc run with
// another source.
//
// # Positions
//
// The position a Source reports to the pipeline (pipeline.LSN) is the
// stream sequence of a batch's last message; Progress.Confirmed is the
// newest sequence every sink of the pipeline acknowledged.
//
// A live Source (Config.Durable empty) keeps no position: it starts
// Config.Warm messages before the stream's end, so that the live sinks'
// replay rings hold what clients that reconnect after an edge restart
// missed, and CaughtUp tells when they do.
//
// A durable Source (Config.Durable set: one per durable sink of an edge,
// e.g. a webhook) stores its confirmed sequence and the stream's epoch
// in the KV bucket natsconn.PositionBucket under that key, about once a
// second and when it stops, and starts after it: a slow or failing
// receiver stalls only its own pipeline, and nothing is lost while it is
// down (at-least-once: what was delivered after the last stored position
// is delivered again after a crash).
//
// Both read with an ordered consumer (no redelivery, in stream order,
// re-created by the client library after a gap or a server restart).
//
// # Resume from the stream
//
// Reader.Seek maps an event id to a stream sequence by binary search
// over direct gets, and Reader.Backfill reads the events after it: a
// live sink's hub can serve a client whose Last-Event-ID is older than
// its ring.
package nats
