package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options size a Pipeline. The zero value works.
type Options struct {
	// SinkQueue is each sink's inbox, in batches (default 64).
	SinkQueue int
	// MaxInflightBytes bounds memory held by unacknowledged batches
	// (default 64 MiB).
	MaxInflightBytes int64
	// DrainTimeout bounds a graceful shutdown (default 30s); ignored when
	// Shutdown is set.
	DrainTimeout time.Duration
	// Shutdown is the clock of the process's graceful shutdown, shared
	// with the stages outside the pipeline (the HTTP server); nil makes
	// one of DrainTimeout. Run begins it when the source is told to stop.
	Shutdown *Shutdown
	// Guard, when set, is called before each batch the source writes; an
	// error stops the pipeline as a failed sink does: the batch is not
	// taken, nothing from it on is confirmed, and Run returns the error.
	// cmd uses it to re-check the configured filters after the source's
	// catalog changed. It must be fast: it runs once per batch.
	Guard  func() error
	Logger *slog.Logger
}

// Output is one sink with its own transforms (the sink's filter and
// project from the config), applied after the pipeline's.
type Output struct {
	Sink      Sink
	Transform Transform // nil keeps every event
}

// Pipeline runs one Source into many Sinks. It holds the configuration and
// the ack tracker; the state of a run (the sinks' inboxes) lives in the
// fan-out that Run makes.
type Pipeline struct {
	src       Source
	transform Transform
	outs      []Output
	opts      Options
	log       *slog.Logger
	tracker   *tracker
	// ownShutdown: the Shutdown was made by New, so Run releases it.
	ownShutdown bool
	// run is the fan-out of the current Run, for Status.
	run atomic.Pointer[fanout]
}

// New returns a pipeline. transform (may be nil) applies to every event
// before any sink's own transforms.
func New(src Source, transform Transform, outs []Output, opts Options) *Pipeline {
	if opts.SinkQueue <= 0 {
		opts.SinkQueue = 64
	}
	if opts.MaxInflightBytes <= 0 {
		opts.MaxInflightBytes = 64 << 20
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	own := opts.Shutdown == nil
	if own {
		opts.Shutdown = NewShutdown(opts.DrainTimeout)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Every labelled series exists from the start, so that dashboards and
	// alerts see zeros rather than nothing.
	backpressureWaits.WithLabelValues("budget")
	for _, o := range outs {
		backpressureWaits.WithLabelValues(o.Sink.Name())
		backpressureSeconds.WithLabelValues(o.Sink.Name())
	}
	t := newTracker(opts.MaxInflightBytes, 0)
	t.stop = opts.Shutdown
	return &Pipeline{src: src, transform: transform, outs: outs, opts: opts, ownShutdown: own,
		log: log.With("component", "pipeline"), tracker: t}
}

// Progress exposes the ack tracker (for metrics and tests).
func (p *Pipeline) Progress() Progress { return p.tracker }

// InflightBytes is the memory held by unacknowledged batches.
func (p *Pipeline) InflightBytes() int64 { return p.tracker.InflightBytes() }

// Run runs the source and the sinks until ctx is cancelled or one of them
// fails. Shutdown, in order: the source stops reading and waits for the
// sinks to acknowledge what is in flight (Progress.Drain), confirms, and
// returns; the sinks' inboxes close, and each sink finishes what it holds
// and returns. The Shutdown clock (Options) begins when the source is told
// to stop - by ctx, or because a sink failed - and when it runs out the
// sinks' context is cancelled: they abandon what is not acknowledged (it
// is re-read after a restart). Run returns nil after a graceful shutdown,
// the first sink's error, or the source's. Run is called once.
func (p *Pipeline) Run(ctx context.Context) error {
	if len(p.outs) == 0 {
		return errors.New("pipeline has no sinks")
	}
	srcCtx, cancelSrc := context.WithCancel(ctx)
	defer cancelSrc()
	stop := p.opts.Shutdown
	if p.ownShutdown {
		defer stop.Release()
	}
	defer stop.BeginWhen(srcCtx)()
	sinkCtx := stop.Context()

	// fail records the first fatal error of a stage other than the
	// source, and stops the source: some batch will never be acknowledged.
	var errMu sync.Mutex
	var stageErr error
	fail := func(err error) {
		errMu.Lock()
		if stageErr == nil {
			stageErr = err
		}
		errMu.Unlock()
		p.tracker.abort()
		cancelSrc()
	}
	f := newFanout(p, sinkCtx, fail)
	p.run.Store(f)
	var wg sync.WaitGroup
	var inputsClosed atomic.Bool
	for i, o := range p.outs {
		wg.Add(1)
		go func(o Output, in chan *Batch) {
			defer wg.Done()
			err := o.Sink.Run(sinkCtx, in)
			if err == nil && !inputsClosed.Load() {
				err = errors.New("stopped before its input was closed")
			}
			if err != nil && sinkCtx.Err() == nil {
				fail(fmt.Errorf("sink %q: %w", o.Sink.Name(), err))
			}
		}(o, f.inboxes[i])
	}

	srcErr := p.src.Run(srcCtx, f, p.tracker)
	inputsClosed.Store(true)
	f.close()
	wg.Wait()
	errMu.Lock()
	defer errMu.Unlock()
	switch {
	case stageErr != nil:
		return stageErr
	case srcErr != nil:
		return fmt.Errorf("source: %w", srcErr)
	}
	return nil
}
