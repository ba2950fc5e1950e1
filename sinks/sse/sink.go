package sse

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
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
	name string
	*hub.Endpoint
	log          *slog.Logger
	origins      hub.Origins
	writeTimeout time.Duration
	eventNames   bool
	drain        time.Duration
	retryLine    []byte // "retry: <ms>\n\n", sent on connect
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
		writeTimeout: hub.OrDefault(b.WriteTimeout, DefaultWriteTimeout),
		eventNames:   b.EventNames,
	}
	retry := hub.OrDefault(b.ClientRetry, DefaultClientRetry)
	s.retryLine = []byte("retry: " + strconv.FormatInt(retry.Milliseconds(), 10) + "\n\n")
	s.drain = s.writeTimeout
	for _, o := range opts {
		o(s)
	}
	b.Heartbeat = hub.OrDefault(b.Heartbeat, DefaultHeartbeat)
	s.Endpoint = hub.NewEndpoint(cfg.Name, hub.New(cfg.Name, b, cat, s.log, hub.WithHead(s.head)), s.drain)
	return s, nil
}
