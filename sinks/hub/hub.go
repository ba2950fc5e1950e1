package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Config sizes a Hub. Every field must be positive: the defaults live in
// package config, and internal/wiring fills a Config from the validated,
// defaulted sink settings.
type Config struct {
	// MaxEvents, MaxBytes and MaxAge bound the replay buffer; the first
	// limit reached evicts the oldest events.
	MaxEvents int
	MaxBytes  int64
	MaxAge    time.Duration
	// ClientBuffer is how many events a client may fall behind before
	// Next reports an overflow.
	ClientBuffer int
	// Heartbeat is the interval of Beat while Consume runs.
	Heartbeat time.Duration
}

// check reports every field that is not positive.
func (c Config) check() error {
	var errs []error
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"replay max events", c.MaxEvents > 0},
		{"replay max bytes", c.MaxBytes > 0},
		{"replay max age", c.MaxAge > 0},
		{"client buffer", c.ClientBuffer > 0},
		{"heartbeat", c.Heartbeat > 0},
	} {
		if !f.ok {
			errs = append(errs, fmt.Errorf("%s must be positive", f.name))
		}
	}
	return errors.Join(errs...)
}

// Wake-ups are coalesced. The first event after a quiet interval wakes the
// clients at once; under load, events that arrive within the interval are
// delivered together at its end, so each client makes one write (and its
// reader one read) for several events. A wake-up costs a write system call
// per client, whatever it carries, so the interval grows with the number
// of clients per CPU: wakeCostPerClient per client, divided by GOMAXPROCS,
// between minWake and maxWake. That keeps the CPU spent on wake-ups to
// about a fifth of the machine (a client's wake-up costs pgcdc about 9 µs
// of CPU on the project's machine, mostly the write system call, and the
// reader's side as much again). At 1,000 clients on 2 CPUs (a 20 ms
// interval), alternating runs against a fixed 5 ms gave about 15% less CPU
// per delivery and an equal or lower p99. The interval bounds the latency
// coalescing adds.
const (
	wakeCostPerClient = 40 * time.Microsecond
	minWake           = time.Millisecond
	maxWake           = 50 * time.Millisecond
)

// wakeInterval returns the coalescing interval for clients clients on
// procs CPUs.
func wakeInterval(clients, procs int) time.Duration {
	d := wakeCostPerClient * time.Duration(clients) / time.Duration(max(procs, 1))
	return min(max(d, minWake), maxWake)
}

// Hub is the broadcast core of one SSE or WebSocket sink: a bounded replay
// ring that every client reads through its own Cursor. All methods are safe
// for concurrent use. Publish never blocks on a client.
type Hub struct {
	name         string
	cat          pipeline.Catalog
	log          *slog.Logger
	met          *sinkMetrics
	maxEvents    int
	maxBytes     int64
	maxAge       time.Duration
	clientBuffer uint64
	heartbeat    time.Duration
	head         func(*pipeline.Event) []byte // see WithHead; nil: none
	walEnd       func() pipeline.LSN          // see WithWALEnd; nil: unknown
	procs        int                          // GOMAXPROCS at New, for wakeInterval

	mu    sync.RWMutex
	ring  ring
	bytes int64
	wake  chan struct{} // closed (and replaced) by every Publish and by Close
	beat  chan struct{} // closed (and replaced) every heartbeat by Consume
	// lastWake is when wake was last closed (UnixNano); wakeTimer is set
	// while a wake-up is scheduled for the end of the current interval.
	lastWake   int64
	wakeTimer  *time.Timer
	closed     bool    // Close or Abort was called
	aborted    bool    // Abort was called: readers stop at once
	closeAt    uint64  // after Close, readers end at this sequence number
	started    bool    // at least one event was received
	floor      eventID // newest evicted id, or the first id received
	last       eventID // newest id received
	clients    map[*Client]struct{}
	idle       chan struct{}       // closed when closed and the last client left
	index      *auth.Index[*inbox] // the routed cursors' audience (route.go)
	nextClient uint64              // numbers clients for their ids
	backfill   BackfillFunc        // nil: an id older than the ring is a reset
}

// Option configures a Hub.
type Option func(*Hub)

// WithHead has Publish call head once per event and keep what it returns
// with the event; NextItems hands it out. A sink puts there the part of its
// wire format that depends on the event alone (the SSE id line), so that
// it is built once rather than once per client. The bytes count towards
// the replay buffer's byte limit and must not be modified.
func WithHead(head func(*pipeline.Event) []byte) Option { return func(h *Hub) { h.head = head } }

// WithWALEnd gives the hub the server's current WAL end (the source's
// WALEnd), so that Seek can tell an id from another timeline: an id whose
// LSN is beyond what the server has written cannot come from this
// server's history (a restore, or a failover to a cluster with lower
// LSNs), and waiting for it would give the client a silently empty
// stream. walEnd is called once per Seek of such an id and must be fast
// and safe for concurrent use; it returns 0 while the WAL end is unknown.
func WithWALEnd(walEnd func() pipeline.LSN) Option { return func(h *Hub) { h.walEnd = walEnd } }

// BackfillFunc calls fn, in order, with each event after afterID and
// before beforeID, from a store that outlives the hub's ring (a pgcdc
// edge's JetStream stream). It returns fn's first error, or why it cannot
// (the events are gone from the store too, or it is unreachable).
type BackfillFunc func(ctx context.Context, afterID, beforeID string, fn func(*pipeline.Event) error) error

// WithBackfill gives the hub a store to read what its ring no longer
// holds: a client resuming from an id older than the ring reads the
// events in between from it (Cursor.Backfilling, Hub.Backfill) instead
// of getting a reset.
func WithBackfill(f BackfillFunc) Option { return func(h *Hub) { h.backfill = f } }

// New returns the hub of the sink named name, sized by cfg. cat is the
// catalog subscriptions are checked against; it may be nil (no checks
// against published tables and columns). logger is the sink's, already
// scoped with its name: the hub adds no sink attribute of its own.
func New(name string, cfg Config, cat pipeline.Catalog, logger *slog.Logger, opts ...Option) (*Hub, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("broadcast hub %q: %w", name, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		name:         name,
		cat:          cat,
		log:          logger,
		met:          metricsFor(name),
		maxEvents:    cfg.MaxEvents,
		maxBytes:     cfg.MaxBytes,
		maxAge:       cfg.MaxAge,
		clientBuffer: uint64(cfg.ClientBuffer),
		heartbeat:    cfg.Heartbeat,
		wake:         make(chan struct{}),
		beat:         make(chan struct{}),
		clients:      make(map[*Client]struct{}),
		idle:         make(chan struct{}),
		procs:        runtime.GOMAXPROCS(0),
		index:        auth.NewIndex[*inbox](),
	}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// MaxEvents is the replay buffer's limit in events.
func (h *Hub) MaxEvents() int { return h.maxEvents }

// Name returns the name of the sink the hub belongs to.
func (h *Hub) Name() string { return h.name }

// Catalog returns the catalog subscriptions are checked against (may be nil).
func (h *Hub) Catalog() pipeline.Catalog { return h.cat }

// Publish appends events to the ring, evicting the oldest as the limits
// require, and wakes every waiting client. Events must be in commit order;
// one whose id is not greater than the newest id already received is
// dropped (a re-sent transaction). Publish calls Encoded on each event, so
// the caller must not call it concurrently for the same events (the
// pipeline encodes events before it fans them out). It does not block on
// clients.
func (h *Hub) Publish(events []*pipeline.Event) {
	if len(events) == 0 {
		return
	}
	var heads [][]byte
	if h.head != nil {
		heads = make([][]byte, len(events))
		for i, e := range events {
			heads[i] = h.head(e)
		}
	}
	now := time.Now().UnixNano()
	var added, dropped int
	var firstDrop eventID
	h.mu.Lock()
	for i, e := range events {
		id := idOf(e)
		if h.started && !h.last.less(id) {
			if dropped == 0 {
				firstDrop = id
			}
			dropped++
			continue
		}
		if !h.started {
			h.started, h.floor = true, id
		}
		ent := entry{ev: e, size: eventSize(e), added: now}
		if heads != nil {
			ent.head = heads[i]
			ent.size += int64(len(ent.head))
		}
		for h.ring.len() > 0 && (h.ring.len() >= h.maxEvents || h.bytes+ent.size > h.maxBytes) {
			h.evict()
		}
		h.ring.push(ent, h.maxEvents)
		h.route(e, h.ring.head-1, ent.head)
		h.bytes += ent.size
		h.last = id
		added++
	}
	h.expire(now)
	if added > 0 {
		h.signal(now)
	}
	n, b := h.ring.len(), h.bytes
	h.mu.Unlock()

	h.met.replayEvents.Set(float64(n))
	h.met.replayBytes.Set(float64(b))
	if dropped > 0 {
		h.met.duplicates.Add(float64(dropped))
		h.log.Info("dropped events already broadcast (re-sent after a reconnect)",
			"count", dropped, "first", firstDrop.String())
	}
}

// signal wakes the clients now, or at the end of the current wake interval
// if they were woken less than wakeInterval ago. h.mu must be held.
func (h *Hub) signal(now int64) {
	if h.wakeTimer != nil {
		return // already scheduled
	}
	if wait := h.lastWake + int64(wakeInterval(len(h.clients), h.procs)) - now; wait > 0 {
		h.wakeTimer = time.AfterFunc(time.Duration(wait), h.deferredWake)
		return
	}
	h.wakeLocked(now)
}

func (h *Hub) deferredWake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wakeTimer = nil
	h.wakeLocked(time.Now().UnixNano())
}

// wakeLocked wakes every waiting client. h.mu must be held.
func (h *Hub) wakeLocked(now int64) {
	close(h.wake)
	h.wake = make(chan struct{})
	h.lastWake = now
}

// Expire evicts events older than the age limit. Publish does it too; the
// sink's Run loop calls Expire periodically so that an idle stream ages out.
func (h *Hub) Expire() {
	h.mu.Lock()
	h.expire(time.Now().UnixNano())
	n, b := h.ring.len(), h.bytes
	h.mu.Unlock()
	h.met.replayEvents.Set(float64(n))
	h.met.replayBytes.Set(float64(b))
}

func (h *Hub) expire(now int64) {
	limit := now - int64(h.maxAge)
	for h.ring.len() > 0 && h.ring.at(h.ring.tail).added < limit {
		h.evict()
	}
}

// evict drops the oldest entry; h.mu must be held for writing.
func (h *Hub) evict() {
	e := h.ring.pop()
	h.bytes -= e.size
	h.floor = idOf(e.ev)
}

// Close ends the stream gracefully: clients receive every event published
// so far, then Next reports ErrClosed; new clients are refused. Events
// published after Close are buffered but not delivered. Close is idempotent.
func (h *Hub) Close() { h.close(false) }

// Abort ends the stream at once: Next reports ErrClosed without delivering
// what is pending. Abort may follow Close.
func (h *Hub) Abort() { h.close(true) }

func (h *Hub) close(abort bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed && (h.aborted || !abort) {
		return
	}
	if !h.closed {
		h.closeAt = h.ring.head
		h.closed = true
		if len(h.clients) == 0 {
			close(h.idle)
		}
	}
	h.aborted = h.aborted || abort
	for c := range h.clients {
		c.signal() // routed readers wait on their own channel
	}
	if h.wakeTimer != nil {
		h.wakeTimer.Stop()
		h.wakeTimer = nil
	}
	h.wakeLocked(time.Now().UnixNano())
}

// Beat returns the channel that the next heartbeat closes. While the
// sink's Run (Consume) runs, the hub beats every heartbeat interval: one
// shared timer instead of one per connection. An idle SSE stream writes a
// comment when it has written nothing since the previous beat; a WebSocket
// sends a ping on every beat.
func (h *Hub) Beat() <-chan struct{} {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.beat
}

func (h *Hub) tick() {
	h.mu.Lock()
	close(h.beat)
	h.beat = make(chan struct{})
	h.mu.Unlock()
}

// Closed reports whether Close or Abort was called.
func (h *Hub) Closed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// Idle returns a channel closed once the hub is closed and every client has
// left.
func (h *Hub) Idle() <-chan struct{} { return h.idle }

// Stats is a snapshot of the replay buffer.
type Stats struct {
	Events  int
	Bytes   int64
	Clients int
	Oldest  string // id of the oldest buffered event; "" when empty
	Newest  string // id of the newest buffered event; "" when empty
}

// Stats returns a snapshot of the replay buffer.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := Stats{Events: h.ring.len(), Bytes: h.bytes, Clients: len(h.clients)}
	if s.Events > 0 {
		s.Oldest = h.ring.at(h.ring.tail).ev.ID()
		s.Newest = h.ring.at(h.ring.head - 1).ev.ID()
	}
	return s
}
