package pipeline

import (
	"context"
	"slices"
	"sync/atomic"
	"time"
)

// fanout is the state of one Run: the sinks' inboxes. It is the Writer the
// source writes to: it applies the transforms, encodes each event once,
// registers the batch with the tracker (which may make it wait for the
// byte budget), and hands every sink its copy in commit order. Write is
// called from the source's goroutine only.
type fanout struct {
	p        *Pipeline
	inboxes  []chan *Batch
	sinkCtx  context.Context           // ends when the shutdown's time is up
	fail     func(error)               // stops the pipeline with an error
	stallLog []time.Time               // when a full sink was last logged, per sink
	acked    []atomic.Pointer[ackedAt] // per sink: its newest acknowledged event
}

// ackedAt is the newest event a sink acknowledged (Status).
type ackedAt struct {
	lsn LSN
	seq uint32
}

var _ Writer = (*fanout)(nil)

func newFanout(p *Pipeline, sinkCtx context.Context, fail func(error)) *fanout {
	f := &fanout{p: p, sinkCtx: sinkCtx, fail: fail, inboxes: make([]chan *Batch, len(p.outs)), stallLog: make([]time.Time, len(p.outs)),
		acked: make([]atomic.Pointer[ackedAt], len(p.outs))}
	for i := range f.inboxes {
		f.inboxes[i] = make(chan *Batch, p.opts.SinkQueue)
	}
	return f
}

// close closes every inbox: the sinks finish what they hold and return.
func (f *fanout) close() {
	for _, in := range f.inboxes {
		close(in)
	}
}

// Write implements Writer.
func (f *fanout) Write(ctx context.Context, b *Batch) error {
	p := f.p
	if p.opts.Guard != nil {
		if err := p.opts.Guard(); err != nil {
			f.fail(err)
			return err
		}
	}
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
	var perSink [][]*Event // nil: every sink gets events
	targeted := slices.ContainsFunc(events, func(e *Event) bool { return e.Target != "" })
	for i, o := range p.outs {
		if o.Transform == nil && !targeted {
			continue
		}
		if perSink == nil {
			perSink = make([][]*Event, len(p.outs))
			for j := range perSink {
				perSink[j] = events
			}
		}
		evs := events
		if targeted {
			evs = forSink(evs, o.Sink.Name())
		}
		if o.Transform != nil {
			evs = applyAll(o.Transform, evs)
		}
		perSink[i] = evs
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
	// wait on the sinks' context, which ends only when the shutdown's time
	// is up.
	sendCtx := ctx
	for i := range p.outs {
		evs := events
		if perSink != nil {
			evs = perSink[i]
		}
		if len(evs) == 0 {
			NewBatch(nil, b.End, ack).Ack() // filtered out for this sink: acknowledged, not forgotten
			continue
		}
		last := &ackedAt{lsn: evs[len(evs)-1].CommitLSN, seq: evs[len(evs)-1].Seq}
		slot := &f.acked[i]
		sb := NewBatch(evs, b.End, func() { slot.Store(last); ack() })
		sb.Bytes = b.Bytes
		if err := f.send(sendCtx, i, sb); err != nil {
			if i == 0 {
				p.tracker.abort()
			}
			return err
		}
		sendCtx = f.sinkCtx
	}
	return nil
}

// send puts sb into sink i's inbox, logging once per stall when the sink
// is full.
func (f *fanout) send(ctx context.Context, i int, sb *Batch) error {
	in := f.inboxes[i]
	select {
	case in <- sb:
		return nil
	default:
	}
	name := f.p.outs[i].Sink.Name()
	start := time.Now()
	if time.Since(f.stallLog[i]) > 10*time.Second {
		f.p.log.Warn("sink is full; pausing the source (PostgreSQL keeps the WAL meanwhile)", "sink", name, "queue", cap(in))
		f.stallLog[i] = start
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

// forSink returns the events sink may have: every event without a Target,
// and those whose Target names it (a snapshot requested for one sink).
func forSink(events []*Event, sink string) []*Event {
	out := make([]*Event, 0, len(events))
	for _, e := range events {
		if e.Target == "" || e.Target == sink {
			out = append(out, e)
		}
	}
	return out
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
