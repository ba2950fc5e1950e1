package sse

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Config configures an SSE sink (type: sse). internal/wiring builds it
// from the validated, defaulted config; every duration must be positive.
type Config struct {
	Name string
	live.Settings
	// ClientRetry is the retry: hint sent to EventSource clients.
	ClientRetry time.Duration
	// EventNames names each message by its op (event: insert).
	EventNames bool
}

// Sink is the SSE broadcast sink (type: sse). It is a pipeline.Sink fed by
// the pipeline and an http.Handler mounted at its path on the server. It is
// safe for concurrent use.
type Sink struct {
	live.Base
	log        *slog.Logger
	eventNames bool
	retryLine  []byte // "retry: <ms>\n\n", sent on connect
}

var (
	_ pipeline.Sink           = (*Sink)(nil)
	_ pipeline.Readier        = (*Sink)(nil)
	_ http.Handler            = (*Sink)(nil)
	_ live.Protocol[struct{}] = (*Sink)(nil)
)

// New returns the SSE sink configured by cfg. cat is the catalog client
// subscriptions are checked against (the source's); nil skips those
// checks.
func New(cfg Config, cat pipeline.Catalog, logger *slog.Logger) (*Sink, error) {
	if cfg.ClientRetry <= 0 {
		return nil, fmt.Errorf("sse: sink %q: client retry must be positive", cfg.Name)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		log:        logger.With("component", "sse", "sink", cfg.Name),
		eventNames: cfg.EventNames,
		retryLine:  []byte("retry: " + strconv.FormatInt(cfg.ClientRetry.Milliseconds(), 10) + "\n\n"),
	}
	var err error
	if s.Base, err = live.NewBase(cfg.Name, cfg.Settings, cat, s.log, hub.WithHead(s.head)); err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	return s, nil
}
