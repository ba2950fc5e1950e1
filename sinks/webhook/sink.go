package webhook

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Sink POSTs events to one HTTP endpoint, in commit order, one request in
// flight at a time. It is created by New and run once by the pipeline.
type Sink struct {
	set       settings
	opts      options
	enc       encoder
	client    *http.Client
	log       *slog.Logger
	metrics   *sinkMetrics
	userAgent string
}

var _ pipeline.Sink = (*Sink)(nil)

// New validates cfg (a sink of type webhook) and returns its Sink. Zero
// values take the documented defaults; every invalid key is reported at
// once. A nil logger discards logs.
func New(cfg config.Sink, logger *slog.Logger, opts ...Option) (*Sink, error) {
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		set:  set,
		opts: o,
		enc: encoder{
			cloudEvents: set.format == formatCloudEvents,
			array:       set.array,
			database:    o.database,
		},
		client:    newClient(set, o),
		log:       logger.With("sink", cfg.Name),
		metrics:   newSinkMetrics(cfg.Name),
		userAgent: "pgcdc/" + o.version,
	}
	if set.tls != nil && set.tls.InsecureSkipVerify {
		s.log.Warn("tls.insecure_skip_verify is set: the receiver's certificate is not verified")
	}
	if !set.key.IsZero() && set.key.Len() < 24 {
		s.log.Warn("the webhook secret is shorter than the 24 bytes the Standard Webhooks specification asks for",
			"bytes", set.key.Len())
	}
	return s, nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return s.set.name }

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
	s.log.Info("webhook sink running", "url", s.set.safeURL, "format", s.set.format,
		"max_events", s.set.maxEvents, "signed", !s.set.key.IsZero(), "dead_letter", s.set.deadLetter)
	r := &runner{s: s}
	defer r.stopTimer()
	err := r.run(ctx, in)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
