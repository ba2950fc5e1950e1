package hub

import (
	"context"
	"sync/atomic"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Endpoint is the pipeline side shared by the broadcast sinks: it feeds a
// Hub from the pipeline, reports readiness, and ends client streams on
// shutdown. The SSE and WebSocket sinks embed it and add their wire
// protocol.
type Endpoint struct {
	name    string
	hub     *Hub
	running atomic.Bool
}

// NewEndpoint returns the endpoint of sink name over h.
func NewEndpoint(name string, h *Hub) *Endpoint { return &Endpoint{name: name, hub: h} }

// Name implements pipeline.Sink.
func (e *Endpoint) Name() string { return e.name }

// Run implements pipeline.Sink: it publishes every batch to the hub and
// acknowledges it at once (ARCHITECTURE §3). When in is closed, clients
// receive what remains and their streams end; Run returns nil once they
// have, or when ctx ends (the caller's drain deadline), cutting the rest.
// Cancelling ctx before in is closed cuts every stream at once.
func (e *Endpoint) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	e.running.Store(true)
	defer e.running.Store(false)
	return e.hub.Consume(ctx, in)
}

// Ready implements pipeline.Readier: true while Run runs and the hub is
// open.
func (e *Endpoint) Ready() bool { return e.running.Load() && !e.hub.Closed() }

// Hub returns the hub.
func (e *Endpoint) Hub() *Hub { return e.hub }

// CloseStreams ends every client stream after the events already published
// (the HTTP server calls it on shutdown); new requests get 503.
func (e *Endpoint) CloseStreams() { e.hub.Close() }

// AbortStreams cuts every client stream at once (the HTTP server calls it
// when its shutdown deadline passes).
func (e *Endpoint) AbortStreams() { e.hub.Abort() }

// StreamsDone is closed once the streams are closed and every client has
// left.
func (e *Endpoint) StreamsDone() <-chan struct{} { return e.hub.Idle() }
