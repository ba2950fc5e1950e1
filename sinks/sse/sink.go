package sse

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Defaults used when a config value is zero (the config package applies
// the same ones).
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultClientRetry  = 2 * time.Second
)

// Sink is the SSE broadcast sink (type: sse). It is a pipeline.Sink fed by
// the pipeline and an http.Handler mounted at its path on the server. It is
// safe for concurrent use.
type Sink struct {
	name         string
	hub          *hub.Hub
	log          *slog.Logger
	origins      hub.Origins
	writeTimeout time.Duration
	eventNames   bool
	drain        time.Duration
	retryLine    []byte // "retry: <ms>\n\n", sent on connect
	running      atomic.Bool
}

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Readier = (*Sink)(nil)
	_ http.Handler     = (*Sink)(nil)
)

// Option configures a Sink.
type Option func(*Sink)

// WithDrainTimeout bounds how long Run waits, after its input is closed,
// for clients to receive the last events before their streams are cut
// (default: the write timeout).
func WithDrainTimeout(d time.Duration) Option { return func(s *Sink) { s.drain = d } }

// New returns the SSE sink configured by cfg (type sse). cat is the
// catalog client subscriptions are checked against (the source's); nil
// skips those checks.
func New(cfg config.Sink, cat pipeline.Catalog, logger *slog.Logger, opts ...Option) (*Sink, error) {
	if cfg.Type != "sse" {
		return nil, fmt.Errorf("sse: sink %q has type %q, want sse", cfg.Name, cfg.Type)
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("sse: sink has no name")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := cfg.Broadcast
	s := &Sink{
		name:         cfg.Name,
		log:          logger.With("component", "sse", "sink", cfg.Name),
		origins:      hub.NewOrigins(b.AllowedOrigins),
		writeTimeout: orDefault(b.WriteTimeout, DefaultWriteTimeout),
		eventNames:   b.EventNames,
	}
	retry := orDefault(b.ClientRetry, DefaultClientRetry)
	s.retryLine = []byte("retry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n")
	s.drain = s.writeTimeout
	for _, o := range opts {
		o(s)
	}
	b.Heartbeat = orDefault(b.Heartbeat, DefaultHeartbeat)
	s.hub = hub.New(cfg.Name, b, cat, s.log)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return s.name }

// Run implements pipeline.Sink: it publishes every batch to the hub and
// acknowledges it at once (ARCHITECTURE §3). When in is closed, clients
// receive what remains and their streams end; Run returns nil once they
// have (or after the drain timeout). Cancelling ctx cuts every stream at
// once.
func (s *Sink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	s.running.Store(true)
	defer s.running.Store(false)
	return s.hub.Consume(ctx, in, s.drain)
}

// Ready implements pipeline.Readier: true while Run runs and the stream is
// open.
func (s *Sink) Ready() bool { return s.running.Load() && !s.hub.Closed() }

// Hub returns the sink's hub (for /api/changes).
func (s *Sink) Hub() *hub.Hub { return s.hub }

// CloseStreams ends every client stream after the events already published
// (the HTTP server calls it on shutdown); new requests get 503.
func (s *Sink) CloseStreams() { s.hub.Close() }
