package hub

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Endpoint is the pipeline side shared by the broadcast sinks: it feeds a
// Hub from the pipeline, reports readiness, and ends client streams on
// shutdown. The SSE and WebSocket sinks embed it and add their wire
// protocol.
type Endpoint struct {
	name    string
	hub     *Hub
	drain   time.Duration
	running atomic.Bool
}

// NewEndpoint returns the endpoint of sink name over h. drain bounds how
// long Run waits, after its input is closed, for clients to receive the
// last events.
func NewEndpoint(name string, h *Hub, drain time.Duration) *Endpoint {
	return &Endpoint{name: name, hub: h, drain: drain}
}

// Name implements pipeline.Sink.
func (e *Endpoint) Name() string { return e.name }

// Run implements pipeline.Sink: it publishes every batch to the hub and
// acknowledges it at once (ARCHITECTURE §3). When in is closed, clients
// receive what remains and their streams end; Run returns nil once they
// have (or after the drain timeout). Cancelling ctx cuts every stream at
// once.
func (e *Endpoint) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	e.running.Store(true)
	defer e.running.Store(false)
	return e.hub.Consume(ctx, in, e.drain)
}

// Ready implements pipeline.Readier: true while Run runs and the hub is
// open.
func (e *Endpoint) Ready() bool { return e.running.Load() && !e.hub.Closed() }

// Hub returns the hub (for /api/changes).
func (e *Endpoint) Hub() *Hub { return e.hub }

// CloseStreams ends every client stream after the events already published
// (the HTTP server calls it on shutdown); new requests get 503.
func (e *Endpoint) CloseStreams() { e.hub.Close() }

// OrDefault returns d, or def when d is not positive.
func OrDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
