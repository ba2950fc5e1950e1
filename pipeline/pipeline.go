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
	// DrainTimeout bounds how long shutdown waits for sinks (default 30s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Output is one sink with its own transforms (the sink's filter and
// project from the config), applied after the pipeline's.
type Output struct {
	Sink      Sink
	Transform Transform // nil keeps every event
}

// Pipeline runs one Source into many Sinks.
type Pipeline struct {
	src       Source
	transform Transform
	outs      []Output
	opts      Options
	log       *slog.Logger
	tracker   *tracker

	inboxes  []chan *Batch
	sinkCtx  context.Context
	stalled  []bool
	stallLog []time.Time
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{src: src, transform: transform, outs: outs, opts: opts,
		log: log.With("component", "pipeline"), tracker: newTracker(opts.MaxInflightBytes, opts.DrainTimeout)}
}

// Progress exposes the ack tracker (for metrics and tests).
func (p *Pipeline) Progress() Progress { return p.tracker }

// InflightBytes is the memory held by unacknowledged batches.
func (p *Pipeline) InflightBytes() int64 { return p.tracker.InflightBytes() }

// Run runs the source and the sinks until ctx is cancelled or one of them
// fails. On cancellation the source stops reading, the sinks drain what is
// in flight (within DrainTimeout), the source confirms, and Run returns nil.
// Run is called once.
func (p *Pipeline) Run(ctx context.Context) error {
	if len(p.outs) == 0 {
		return errors.New("pipeline has no sinks")
	}
	srcCtx, cancelSrc := context.WithCancel(ctx)
	defer cancelSrc()
	sinkCtx, cancelSinks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSinks()
	p.sinkCtx = sinkCtx

	// Once the source is told to stop, the sinks get DrainTimeout to finish.
	stopTimer := make(chan struct{})
	defer close(stopTimer)
	go func() {
		select {
		case <-srcCtx.Done():
		case <-stopTimer:
			return
		}
		t := time.NewTimer(p.opts.DrainTimeout + time.Second)
		defer t.Stop()
		select {
		case <-t.C:
			cancelSinks()
		case <-stopTimer:
		}
	}()

	p.inboxes = make([]chan *Batch, len(p.outs))
	p.stalled = make([]bool, len(p.outs))
	p.stallLog = make([]time.Time, len(p.outs))
	var wg sync.WaitGroup
	var inputsClosed atomic.Bool
	var errMu sync.Mutex
	var sinkErr error
	for i, o := range p.outs {
		p.inboxes[i] = make(chan *Batch, p.opts.SinkQueue)
		wg.Add(1)
		go func(o Output, in chan *Batch) {
			defer wg.Done()
			err := o.Sink.Run(sinkCtx, in)
			if err == nil && !inputsClosed.Load() {
				err = errors.New("stopped before its input was closed")
			}
			if err != nil && sinkCtx.Err() == nil {
				errMu.Lock()
				if sinkErr == nil {
					sinkErr = fmt.Errorf("sink %q: %w", o.Sink.Name(), err)
				}
				errMu.Unlock()
				p.tracker.abort()
				cancelSrc()
			}
		}(o, p.inboxes[i])
	}

	srcErr := p.src.Run(srcCtx, writer{p}, p.tracker)
	inputsClosed.Store(true)
	for _, in := range p.inboxes {
		close(in)
	}
	wg.Wait()
	errMu.Lock()
	defer errMu.Unlock()
	switch {
	case sinkErr != nil:
		return sinkErr
	case srcErr != nil:
		return fmt.Errorf("source: %w", srcErr)
	}
	return nil
}

// writer is the pipeline's Writer: transforms, encodes once, registers the
// batch with the tracker, and fans it out.
type writer struct{ p *Pipeline }

func (w writer) Write(ctx context.Context, b *Batch) error {
	p := w.p
	events := b.Events
	if p.transform != nil {
		events = applyAll(p.transform, events)
	}
	// The byte budget counts the decoded rows (b.Bytes, from the source)
	// and the JSON each sink will hold.
	bytes := int64(b.Bytes)
	for _, e := range events {
		bytes += int64(len(e.Encoded()))
	}
	var perSink [][]*Event
	for i, o := range p.outs {
		if o.Transform == nil {
			continue
		}
		if perSink == nil {
			perSink = make([][]*Event, len(p.outs))
		}
		perSink[i] = applyAll(o.Transform, events)
		for _, e := range perSink[i] {
			if e.encoded == nil { // a projected copy, not one of events
				bytes += int64(len(e.Encoded()))
			}
		}
	}
	entry, waited, err := p.tracker.reserve(ctx, bytes, b.End, len(p.outs))
	if err != nil {
		return err
	}
	if waited {
		backpressureWaits.WithLabelValues("budget").Inc()
	}
	eventsIn.Add(float64(len(b.Events)))
	ack := func() { p.tracker.ack(entry) }
	// The first send may be abandoned on ctx (nothing handed out yet);
	// once a sink has the batch, every sink must get it, so later sends
	// wait on the sinks' context, which ends only after the drain timeout.
	sendCtx := ctx
	for i, o := range p.outs {
		evs := events
		if o.Transform != nil {
			evs = perSink[i]
		}
		sb := NewBatch(evs, b.End, ack)
		sb.Bytes = b.Bytes
		if len(evs) == 0 {
			sb.Ack() // filtered out for this sink: acknowledged, not forgotten
			continue
		}
		if err := p.send(sendCtx, i, sb); err != nil {
			if i == 0 {
				p.tracker.abort()
			}
			return err
		}
		sendCtx = p.sinkCtx
	}
	return nil
}

// send puts sb into sink i's inbox, logging once per stall when the sink
// is full.
func (p *Pipeline) send(ctx context.Context, i int, sb *Batch) error {
	in := p.inboxes[i]
	select {
	case in <- sb:
		return nil
	default:
	}
	name := p.outs[i].Sink.Name()
	start := time.Now()
	if time.Since(p.stallLog[i]) > 10*time.Second {
		p.log.Warn("sink is full; pausing the source (PostgreSQL keeps the WAL meanwhile)", "sink", name, "queue", cap(in))
		p.stallLog[i] = start
	}
	backpressureWaits.WithLabelValues(name).Inc()
	select {
	case in <- sb:
		backpressureSeconds.WithLabelValues(name).Add(time.Since(start).Seconds())
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// applyAll applies t to every event, returning a new slice only when an
// event was dropped or replaced.
func applyAll(t Transform, events []*Event) []*Event {
	for i, e := range events {
		if r := t.Apply(e); r != e {
			out := make([]*Event, i, len(events))
			copy(out, events[:i])
			if r != nil {
				out = append(out, r)
			}
			for _, e := range events[i+1:] {
				if r := t.Apply(e); r != nil {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return events
}
