package webhook

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Sink POSTs events to one HTTP endpoint, in commit order, one request in
// flight at a time. It is created by New and run once by the pipeline.
type Sink struct {
	cfg       Config
	safeURL   string      // cfg.URL without user info, query or fragment
	tls       *tls.Config // nil: the transport's default
	opts      options
	enc       encoder
	client    *http.Client
	log       *slog.Logger
	metrics   *sinkMetrics
	userAgent string
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns the Sink configured by cfg, which it takes as given (see
// Config). It fails only on what needs the running process — a
// dead-letter file that cannot be written, TLS files that do not load —
// and on a URL that is not absolute, which config never lets through. A
// nil logger discards logs.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Sink, error) {
	fail := func(err error) (*Sink, error) {
		return nil, fmt.Errorf("webhook sink %q: %w", cfg.Name, err)
	}
	safe, err := safeURL(cfg.URL)
	if err != nil {
		return fail(err)
	}
	if cfg.DeadLetter != "" {
		if err := checkDeadLetter(cfg.DeadLetter); err != nil {
			return fail(fmt.Errorf("dead_letter %s: %w", cfg.DeadLetter, err))
		}
	}
	tc, err := tlsConfig(cfg.TLS)
	if err != nil {
		return fail(fmt.Errorf("tls: %w", err))
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		cfg:     cfg,
		safeURL: safe,
		tls:     tc,
		opts:    o,
		enc: encoder{
			cloudEvents: cfg.CloudEvents,
			array:       cfg.MaxEvents > 1,
			database:    o.database,
		},
		log:       logger.With("sink", cfg.Name),
		metrics:   newSinkMetrics(cfg.Name),
		userAgent: "pgcdc/" + o.version,
	}
	s.client = newClient(tc, o)
	return s, nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return s.cfg.Name }

// Run implements pipeline.Sink. It reads batches from in, groups their
// events into requests (batch.max_events, batch.max_bytes, batch.max_wait),
// and delivers each request before reading on: while a request is being
// retried nothing more is read, so the pipeline backs up and the source
// stops reading the WAL. A batch is acknowledged once every one of its
// events was answered 2xx or written to the dead-letter file; batches are
// acknowledged in order, empty ones included.
//
// When in is closed, Run sends what it holds at once (without waiting for
// max_wait), and returns nil once everything is acknowledged. When ctx is
// cancelled it returns nil promptly, abandoning what is not acknowledged
// (the source re-reads it after a restart). It returns an error when a
// request fails for good and no dead_letter file is configured (a
// *DeliveryError), or when the dead-letter file cannot be written.
func (s *Sink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	if s.opts.client == nil {
		defer s.client.CloseIdleConnections()
	}
	s.log.Info("webhook sink running", "url", s.safeURL, "format", s.cfg.format(),
		"max_events", s.cfg.MaxEvents, "signed", !s.cfg.Key.IsZero(), "dead_letter", s.cfg.DeadLetter)
	r := &runner{s: s}
	defer r.stopTimer()
	err := r.run(ctx, in)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
