package live

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Per-cycle limits of a client's writer: it coalesces up to maxBatch
// events per subscription and maxBytes of event JSON over all of them
// into one write. They bound what a stalled connection holds while its
// write waits for the deadline.
const (
	maxBatch           = 128
	maxBytes           = 32 << 10
	maxRequestsPerTurn = 16
	maxPooledBuf       = 256 << 10
)

// Errors that end a client's loop (besides *hub.OverflowError and
// hub.ErrClosed).
var (
	// ErrGone: the client went away (its connection closed, or its reader
	// stopped).
	ErrGone = errors.New("client went away")
	// ErrWrite: a write to the client failed or timed out.
	ErrWrite = errors.New("write to client failed")
	// ErrExpired: the client's credential expired (its DisconnectAt
	// passed): SSE sends auth_expired and ends; a WebSocket asks for a
	// new token.
	ErrExpired = errors.New("credential expired")
)

// Reason returns the disconnect reason (a hub.Reason constant) for the
// error that ended a client's loop.
func Reason(err error) string {
	var over *hub.OverflowError
	switch {
	case errors.As(err, &over):
		return hub.ReasonOverflow
	case errors.Is(err, hub.ErrClosed):
		return hub.ReasonShutdown
	case errors.Is(err, ErrGone):
		return hub.ReasonClientClosed
	case errors.Is(err, ErrExpired):
		return hub.ReasonAuthExpired
	}
	return hub.ReasonWriteError
}

// Register registers a new client with h. During shutdown it answers 503
// itself and returns nil.
func Register(w http.ResponseWriter, h *hub.Hub) *hub.Client {
	c, err := h.Register()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		WriteError(w, http.StatusServiceUnavailable, "the stream is shutting down", nil)
		return nil
	}
	return c
}

// Output is where a client's bytes go. Its methods are called from the
// client's writer goroutine only.
type Output interface {
	// Send sends b[headroom:], where headroom is the Client's: the first
	// headroom bytes are free for the output's framing (an HTTP chunk
	// header), so that a flush is one write with no copy.
	Send(b []byte) error
}

// Protocol is a wire format plugged into the client loop (Client.Serve):
// SSE and WebSocket each implement it. R is the type of the client
// requests it handles (WebSocket subscribe and unsubscribe; struct{} for
// SSE, which has none). Its methods are called from the client's writer
// goroutine only.
type Protocol[R any] interface {
	// AppendEvent appends the message carrying e for subscription s. it
	// is the event as the hub holds it, with its head (see hub.WithHead);
	// e is it.Event after s's transform, the same pointer when the
	// transform left it unchanged (only then does it.Head describe e).
	AppendEvent(b []byte, s *Sub, it hub.Item, e *pipeline.Event) []byte
	// AppendReset appends a reset message for s: events may be missing
	// before its next one.
	AppendReset(b []byte, s *Sub, reason string) []byte
	// Handle carries out client request r, appending any reply to b; it
	// may add and remove the client's subscriptions.
	Handle(b []byte, c *Client[R], r R) []byte
	// AppendHeartbeat is called on every beat of the hub and appends what
	// keeps the connection alive (an SSE comment, a WebSocket ping); idle
	// reports that nothing was sent since the previous beat.
	AppendHeartbeat(b []byte, idle bool) []byte
}

// Sub is one subscription of a client: what it reads (its Transform: the
// request's scope, then the client's filter and projection) and its
// position in the hub's stream.
type Sub struct {
	T pipeline.Transform // nil: every event unchanged
	// Post is what is applied to an event the hub routed to the
	// subscription already scoped (hub.Item.Scoped): the client's own
	// subscription alone.
	Post pipeline.Transform
	Cur  hub.Cursor
	// Reset, when not empty, is sent (AppendReset) before the
	// subscription's next events.
	Reset string
	// Tag is the protocol's own data (the WebSocket subscription's id and
	// frame prefix).
	Tag any
	// Owner, set by the protocol before Subscribe, tells this
	// subscription's own events (a snapshot it asked for) from other
	// subscriptions' of the same connection: its id is the connection's
	// hub client id plus Owner.
	Owner string
	// Stop, when set, stops what the subscription started (a snapshot
	// still running); Remove and Leave call it.
	Stop func()
}

// OwnerID is the id the events meant for subscription s alone carry
// (pipeline.Event.Client).
func (c *Client[R]) OwnerID(s *Sub) string { return c.reg.ID() + s.Owner }

// Client is one connection's writer: the loop that reads the hub through
// the client's subscriptions and writes everything the client gets, one
// write per wake-up. It is owned by one goroutine (Serve's). The zero
// Client is made ready by Init; a protocol holds it by value in its
// connection state, so that an idle client costs no allocation of its own
// (the buffers of a cycle are pooled).
type Client[R any] struct {
	hub      *hub.Hub
	reg      *hub.Client
	proto    Protocol[R]
	reqs     <-chan R
	next     *R // a request taken while waiting, handled first
	subs     []*Sub
	one      [1]*Sub // subs' first backing array: one subscription costs no allocation
	headroom int32
	turn     uint32 // rotates which subscription reads first
	wrote    bool   // something was sent since the last beat
	expiry   time.Time
	stop     error           // set by Stop: Serve returns it after the cycle
	gone     <-chan struct{} // Serve's: the client went away
}

// Init readies the writer of a client registered as reg with h, whose
// messages proto frames with headroom bytes free in front (see Output).
// reqs (nil for none) carries its requests to proto.Handle.
func (c *Client[R]) Init(h *hub.Hub, reg *hub.Client, proto Protocol[R], headroom int, reqs <-chan R) {
	*c = Client[R]{hub: h, reg: reg, proto: proto, headroom: int32(headroom), reqs: reqs}
	c.subs = c.one[:0]
}

// SetExpiry makes Serve return ErrExpired at t (zero: never), the
// DisconnectAt of the client's credential.
func (c *Client[R]) SetExpiry(t time.Time) { c.expiry = t }

// Stop makes Serve return err after the current cycle (a protocol's
// Handle ends the connection with it).
func (c *Client[R]) Stop(err error) { c.stop = err }

// Subs returns the client's subscriptions, for Protocol.Handle to look up.
func (c *Client[R]) Subs() []*Sub { return c.subs }

// Add adds subscription s, which the client reads from its next cycle on.
func (c *Client[R]) Add(s *Sub) { c.subs = append(c.subs, s) }

// Subscribe sets s up as the subscription of a client with scope that
// asked for sub (nil: everything), placed after lastID (see hub.Seek;
// reset is the reason to send a reset first). With an authenticated scope
// its cursor is routed (hub.SeekRouted): the hub delivers it only what
// the scope may see. Add it with Add; s.Tag is the caller's.
func (c *Client[R]) Subscribe(s *Sub, scope Scope, sub *transform.Subscription, lastID string) (reset string, err error) {
	s.T, s.Post = Transform(scope, sub), nil
	if sub != nil {
		s.Post = sub
	}
	if scope.Identity != nil {
		s.Cur, reset, err = c.hub.SeekRouted(lastID, c.reg, scope.Identity.Scope)
	} else {
		s.Cur, reset, err = c.hub.Seek(lastID)
	}
	c.hub.Own(&s.Cur, c.OwnerID(s))
	return reset, err
}

// Remove removes the i-th subscription.
func (c *Client[R]) Remove(i int) {
	if c.subs[i].Stop != nil {
		c.subs[i].Stop()
	}
	c.hub.Unroute(&c.subs[i].Cur)
	c.subs = slices.Delete(c.subs, i, i+1)
}

// Sent records that the protocol wrote to the client outside the loop
// (the response head): a heartbeat is not needed until the next beat.
func (c *Client[R]) Sent() { c.wrote = true }

// Serve runs the loop, writing to out, until the stream ends; gone is
// closed when the client goes away. It returns why the stream ended:
// ErrGone, ErrWrite, ErrExpired (the expiry SetExpiry set passed), an
// *hub.OverflowError (the client fell behind), hub.ErrClosed (the hub
// closed and the client got every event published before), or the error
// a protocol's Handle passed to Stop. After ErrExpired it may be called
// again (a WebSocket that re-authenticated). It does not unregister the
// client: the protocol ends the connection its way (a last message, a
// close frame), then calls Leave.
func (c *Client[R]) Serve(out Output, gone <-chan struct{}) error {
	c.gone = gone
	beat := c.hub.Beat()
	var expired <-chan time.Time
	var timer *time.Timer
	var armed time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if c.stop != nil {
			err := c.stop
			c.stop = nil
			return err
		}
		if !c.expiry.Equal(armed) { // set, or renewed by a protocol's Handle
			armed = c.expiry
			if timer != nil {
				timer.Stop()
				timer, expired = nil, nil
			}
			if !armed.IsZero() {
				d := time.Until(armed)
				if d <= 0 {
					return ErrExpired
				}
				timer = time.NewTimer(d)
				expired = timer.C
			}
		}
		// Beats are taken busy or not: a WebSocket's pings are what keep
		// its client's pongs, and the reader's deadline, coming.
		select {
		case <-gone:
			return ErrGone
		case <-expired:
			return ErrExpired
		case <-beat:
			beat = c.hub.Beat()
			if err := c.beat(out); err != nil {
				return err
			}
		default:
		}
		wake, busy, err := c.cycle(out)
		if err != nil {
			return err
		}
		if busy || c.stop != nil {
			continue // maybe more: read again before waiting
		}
		select {
		case r := <-c.reqs:
			c.next = &r
		case <-wake:
		case <-beat:
			beat = c.hub.Beat()
			if err := c.beat(out); err != nil {
				return err
			}
		case <-gone:
			return ErrGone
		case <-expired:
			return ErrExpired
		}
	}
}

// Leave unregisters the client, counting the disconnect under the reason
// for err (the error Serve returned).
func (c *Client[R]) Leave(err error) {
	for _, s := range c.subs {
		if s.Stop != nil {
			s.Stop()
		}
		c.hub.Unroute(&s.Cur)
	}
	c.reg.Leave(Reason(err))
}

func (c *Client[R]) beat(out Output) error {
	sc := getScratch()
	defer putScratch(sc)
	b := c.proto.AppendHeartbeat(sc.buf[:c.headroom], !c.wrote)
	sc.buf = b[:0]
	c.wrote = false
	if len(b) > int(c.headroom) && out.Send(b) != nil {
		return ErrWrite
	}
	return nil
}

// scratch is what a client needs while it writes; it goes back to a pool
// while the client waits, so an idle connection holds none of it.
type scratch struct {
	items []hub.Item
	buf   []byte
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{items: make([]hub.Item, 0, maxBatch), buf: make([]byte, 0, 16<<10)}
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch returns sc to the pool. Only sc.items[:len] can hold event
// pointers: items past it were cleared when they were last used.
func putScratch(sc *scratch) {
	if cap(sc.buf) > maxPooledBuf {
		sc.buf = make([]byte, 0, 16<<10)
	}
	scratchPool.Put(sc)
}

// backfill writes the events s resumes from that the hub's ring no longer
// holds (hub.Backfill), appending them to b and sending b whenever it holds
// maxBytes; it returns what is left to send. When the store cannot serve
// them it sets s.Reset.
func (c *Client[R]) backfill(out Output, s *Sub, b []byte) ([]byte, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	n := 0
	var oldest time.Time
	reset, err := c.hub.Backfill(ctx, &s.Cur, func(e *pipeline.Event) error {
		if s.T != nil {
			if e = s.T.Apply(e); e == nil {
				return nil
			}
		}
		b = c.proto.AppendEvent(b, s, hub.Item{Event: e}, e)
		if n == 0 {
			oldest = e.CommitTime
		}
		n++
		if len(b) < maxBytes {
			return nil
		}
		if out.Send(b) != nil {
			return ErrWrite
		}
		c.wrote = true
		c.hub.Delivered(n, oldest)
		n, b = 0, b[:c.headroom]
		return nil
	})
	if n > 0 {
		if out.Send(b) != nil {
			return b, ErrWrite
		}
		c.wrote = true
		c.hub.Delivered(n, oldest)
		b = b[:c.headroom]
	}
	switch {
	case errors.Is(err, ErrWrite):
		return b, err
	case err != nil:
		return b, ErrGone
	}
	s.Reset = reset
	return b, nil
}

// cycle handles pending requests, appends the pending events of every
// subscription, and sends it all in one write. busy reports that there may
// be more to do at once; otherwise the caller waits on wake.
func (c *Client[R]) cycle(out Output) (wake <-chan struct{}, busy bool, err error) {
	sc := getScratch()
	defer putScratch(sc)
	b := sc.buf[:c.headroom]
	for i := 0; i < maxRequestsPerTurn; i++ {
		r := c.next
		if r == nil {
			select {
			case req := <-c.reqs:
				r = &req
			default:
			}
		}
		if r == nil {
			break
		}
		c.next = nil
		b = c.proto.Handle(b, c, *r)
		busy = true
	}
	var closed bool
	if len(c.subs) == 0 {
		wake, closed = c.hub.Wait()
		if closed {
			err = hub.ErrClosed
		}
	}
	var n, ended, pending, used int
	var oldest time.Time
	c.turn++
	for i := 0; i < len(c.subs) && err == nil; i++ {
		s := c.subs[(int(c.turn)+i)%len(c.subs)]
		if used >= maxBytes {
			busy = true // the rest waits for the next turn
			break
		}
		if s.Reset != "" {
			b = c.proto.AppendReset(b, s, s.Reset)
			s.Reset = ""
		}
		if s.Cur.Backfilling() {
			if b, err = c.backfill(out, s, b); err != nil {
				break
			}
			if s.Reset != "" {
				b = c.proto.AppendReset(b, s, s.Reset)
				s.Reset = ""
			}
		}
		var items []hub.Item
		var w <-chan struct{}
		items, w, err = c.hub.NextItems(&s.Cur, sc.items[:0], maxBytes-used)
		if wake == nil {
			// Taken with the first read: a publish after it closes it.
			wake = w
		}
		if errors.Is(err, hub.ErrClosed) {
			ended++
			err = nil
			continue
		}
		if len(items) > 0 {
			busy = true
		}
		for _, it := range items {
			used += len(it.Event.Encoded())
			e, t := it.Event, s.T
			if it.Scoped {
				t = s.Post
			}
			if t != nil {
				if e = t.Apply(e); e == nil {
					continue
				}
			}
			b = c.proto.AppendEvent(b, s, it, e)
			if n == 0 {
				oldest = e.CommitTime
			}
			n++
		}
		clear(items) // drop the event pointers before the buffer goes back to the pool
		pending = max(pending, s.Cur.Pending())
	}
	sc.buf = b[:0]
	if len(b) > int(c.headroom) {
		if out.Send(b) != nil {
			return nil, false, ErrWrite
		}
		c.wrote = true
		c.hub.Delivered(n, oldest)
	}
	c.reg.SetPending(pending)
	if err == nil && ended > 0 && ended == len(c.subs) {
		err = hub.ErrClosed
	}
	if err != nil {
		return nil, false, err
	}
	return wake, busy, nil
}
