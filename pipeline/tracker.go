package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// tracker is the ordered ack tracker. Batches are registered in the order
// the source wrote them; each carries a count of outstanding sink acks. The
// confirmed position advances over the contiguous prefix of done batches
// to the newest End among them, so it never passes an unfinished
// transaction. It also holds the byte budget for in-flight data.
//
// Acks may arrive in any order and from any goroutine; they only store
// state. The source reads Confirmed when it reports progress.
type tracker struct {
	maxBytes int64
	stop     *Shutdown // bounds Drain

	mu       sync.Mutex
	queue    []*entry // registered, not yet popped; queue[head:] is live
	head     int
	inflight int64         // bytes of live entries
	changed  chan struct{} // closed and replaced whenever entries complete
	aborted  bool          // some entry will never complete

	confirmed atomic.Uint64
	count     atomic.Int64 // live entries
}

type entry struct {
	pending atomic.Int32
	end     LSN
	bytes   int64
	done    bool // guarded by tracker.mu
}

var _ Progress = (*tracker)(nil)

// newTracker returns a tracker with a byte budget of maxBytes (0: none)
// whose Drain waits at most drain after it is first called.
func newTracker(maxBytes int64, drain time.Duration) *tracker {
	return &tracker{maxBytes: maxBytes, stop: NewShutdown(drain), changed: make(chan struct{})}
}

// reserve blocks until the batch fits the byte budget (a batch always fits
// when nothing else is in flight) and registers it with acks outstanding
// acknowledgements. waited reports whether it had to wait.
func (t *tracker) reserve(ctx context.Context, bytes int64, end LSN, acks int) (e *entry, waited bool, err error) {
	e = &entry{end: end, bytes: bytes}
	e.pending.Store(int32(acks))
	for {
		t.mu.Lock()
		if t.inflight == 0 || t.inflight+bytes <= t.maxBytes || t.maxBytes <= 0 {
			t.inflight += bytes
			t.queue = append(t.queue, e)
			t.count.Add(1)
			t.mu.Unlock()
			if acks == 0 {
				t.complete(e)
			}
			return e, waited, nil
		}
		ch := t.changed
		t.mu.Unlock()
		waited = true
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, waited, ctx.Err()
		}
	}
}

// ack records one sink's acknowledgement of e.
func (t *tracker) ack(e *entry) {
	if e.pending.Add(-1) == 0 {
		t.complete(e)
	}
}

func (t *tracker) complete(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.done = true
	advanced := false
	for t.head < len(t.queue) && t.queue[t.head].done {
		d := t.queue[t.head]
		t.queue[t.head] = nil
		t.head++
		t.inflight -= d.bytes
		t.count.Add(-1)
		if d.end != 0 && uint64(d.end) > t.confirmed.Load() {
			t.confirmed.Store(uint64(d.end))
		}
		advanced = true
	}
	if t.head == len(t.queue) {
		t.queue, t.head = t.queue[:0], 0
	} else if t.head > 1024 && t.head*2 > len(t.queue) {
		n := copy(t.queue, t.queue[t.head:])
		clear(t.queue[n:])
		t.queue, t.head = t.queue[:n], 0
	}
	if advanced {
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// Confirmed implements Progress.
func (t *tracker) Confirmed() LSN { return LSN(t.confirmed.Load()) }

// Idle implements Progress.
func (t *tracker) Idle() bool { return t.count.Load() == 0 }

// InflightBytes returns the bytes held by unacknowledged batches.
func (t *tracker) InflightBytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inflight
}

// Drain implements Progress. Calling it starts the shutdown clock (a
// source drains only when it stops), and it waits at most until that
// clock runs out. After an abort it returns false at once: some batch will
// never be acknowledged.
func (t *tracker) Drain(ctx context.Context) bool {
	t.stop.Begin()
	for {
		t.mu.Lock()
		idle, aborted := t.head == len(t.queue), t.aborted
		ch := t.changed
		t.mu.Unlock()
		switch {
		case aborted:
			return false
		case idle:
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-t.stop.Context().Done():
			return false
		}
	}
}

// abort makes Drain return at once: a sink failed, or a fan-out was
// interrupted, so some batch will never be acknowledged. The confirmed
// position never passes that batch.
func (t *tracker) abort() {
	t.mu.Lock()
	t.aborted = true
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
}
