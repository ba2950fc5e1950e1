// Package pipeline is the middle of pgcdc: it carries committed changes from a
// Source through Transforms to every Sink, and turns the sinks'
// acknowledgements back into a position the source may confirm upstream.
//
// # Flow
//
//	Source ──Batch──► transforms ──► fan-out ──► Sink inbox (bounded) ──► Sink
//	   ▲                                                                  │
//	   └──────── Progress.Confirmed() ◄── ack tracker ◄── Batch.Ack() ◄───┘
//
// # Acknowledgement states
//
// Every Batch the source writes is registered with the ack tracker in the
// order written. The fan-out hands each sink its own Batch (after that
// sink's filter and projection); events a sink filtered out count as
// acknowledged for it. When every sink has called Ack on its copy, the
// source's batch is done. The tracker confirms the End position of the
// newest done batch that ends a transaction and whose predecessors are all
// done: never a position past an unfinished transaction. A crash at any
// moment therefore loses nothing; the source re-reads everything after the
// confirmed position (at-least-once, same event ids, same order).
//
// # Backpressure
//
// Sink inboxes are bounded channels and the tracker holds a byte budget for
// everything in flight. When either is full, Writer.Write blocks, the source
// stops reading, and the upstream database keeps the data.
//
// The package imports nothing from source, sinks or config: they depend on
// it, never the reverse.
package pipeline
