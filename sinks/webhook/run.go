package webhook

import (
	"context"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// unacked is a batch taken from the inbox and not yet acknowledged; left
// counts its events not yet delivered (or dead-lettered).
type unacked struct {
	b    *pipeline.Batch
	left int
}

// runner is the state of one Run: the request being filled and the
// batches waiting for acknowledgement. Only Run's goroutine touches it.
type runner struct {
	s *Sink

	// queue holds the unacknowledged batches in the order taken. Requests
	// complete in order, so the events a request completes are always the
	// oldest undelivered ones.
	queue []unacked

	body        []byte   // the request body being filled; nil when none
	events      [][]byte // its events' JSON
	first, last *pipeline.Event
	bodyCap     int // capacity hint for the next body

	timer *time.Timer // batch.max_wait, running while events wait
}

func (r *runner) run(ctx context.Context, in <-chan *pipeline.Batch) error {
	set := &r.s.cfg
	for {
		var timeout <-chan time.Time
		if len(r.events) > 0 {
			if set.MaxWait == 0 {
				// Batch only what is already waiting in the inbox.
				select {
				case b, ok := <-in:
					if err := r.receive(ctx, b, ok); err != nil || !ok {
						return err
					}
					continue
				case <-ctx.Done():
					return ctx.Err()
				default:
					if err := r.flush(ctx); err != nil {
						return err
					}
					continue
				}
			}
			timeout = r.timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			if err := r.flush(ctx); err != nil {
				return err
			}
		case b, ok := <-in:
			if err := r.receive(ctx, b, ok); err != nil || !ok {
				return err
			}
		}
	}
}

// receive handles one receive from the inbox: a batch, or (ok false) the
// end of input, when whatever is pending is sent at once.
func (r *runner) receive(ctx context.Context, b *pipeline.Batch, ok bool) error {
	if !ok {
		if len(r.events) > 0 {
			return r.flush(ctx)
		}
		return nil
	}
	if b == nil {
		return nil // not a batch: nothing to deliver or acknowledge
	}
	r.queue = append(r.queue, unacked{b: b, left: len(b.Events)})
	for _, e := range b.Events {
		if err := r.add(ctx, e); err != nil {
			return err
		}
	}
	r.ackDone()
	return nil
}

// add appends e to the request being filled, sending the request first if
// e would take it past batch.max_bytes, and after if it is then full. An
// event larger than max_bytes on its own is sent alone.
func (r *runner) add(ctx context.Context, e *pipeline.Event) error {
	enc, set := r.s.enc, &r.s.cfg
	it := itemOf(e, enc.cloudEvents)
	if len(r.events) == 0 {
		r.begin()
	}
	mark := len(r.body)
	r.body = enc.add(r.body, len(r.events), it)
	if len(r.events) > 0 && len(r.body)+enc.endLen() > set.MaxBytes {
		r.body = r.body[:mark]
		if err := r.flush(ctx); err != nil {
			return err
		}
		r.begin()
		r.body = enc.add(r.body, 0, it)
	}
	if len(r.events) == 0 {
		r.first = e
	}
	r.last = e
	r.events = append(r.events, it.raw)
	if len(r.events) >= set.MaxEvents || len(r.body)+enc.endLen() >= set.MaxBytes {
		return r.flush(ctx)
	}
	return nil
}

// begin starts a new request body and its max_wait timer.
func (r *runner) begin() {
	if r.s.enc.shared() {
		r.body = nil // the body will be the event's own JSON
	} else {
		r.body = r.s.enc.begin(make([]byte, 0, max(r.bodyCap, 512)))
	}
	if d := r.s.cfg.MaxWait; d > 0 {
		if r.timer == nil {
			r.timer = time.NewTimer(d)
		} else {
			r.timer.Reset(d)
		}
	}
}

// flush delivers the request being filled and acknowledges what it
// completes. The body's memory goes with the request (the transport may
// still hold it); the events slice is reused.
func (r *runner) flush(ctx context.Context) error {
	r.stopTimer()
	enc := r.s.enc
	req := &request{
		id:          enc.batchID(r.first.ID(), r.last.ID()),
		body:        enc.end(r.body),
		contentType: enc.contentType(),
		events:      r.events,
		lsn:         r.first.CommitLSN.String(),
	}
	n := len(r.events)
	if !enc.shared() {
		r.bodyCap = cap(req.body)
	}
	r.body, r.first, r.last = nil, nil, nil
	if err := r.s.deliver(ctx, req); err != nil {
		return err
	}
	clear(r.events)
	r.events = r.events[:0]
	r.complete(n)
	return nil
}

// complete marks the n oldest undelivered events delivered and
// acknowledges every batch at the front of the queue that is done.
func (r *runner) complete(n int) {
	for i := 0; n > 0 && i < len(r.queue); i++ {
		take := min(n, r.queue[i].left)
		r.queue[i].left -= take
		n -= take
	}
	r.ackDone()
}

// ackDone acknowledges, in order, the batches at the front of the queue
// with nothing left to deliver (empty batches included).
func (r *runner) ackDone() {
	i := 0
	for ; i < len(r.queue) && r.queue[i].left == 0; i++ {
		r.queue[i].b.Ack()
		r.queue[i] = unacked{}
	}
	r.queue = r.queue[i:]
}

func (r *runner) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
	}
}
