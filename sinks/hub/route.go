package hub

import (
	"sync"

	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Routed fan-out. A reader whose events are narrowed by an authenticated
// scope (a forced tenant_id=eq.{claims.tenant_id}, say) would otherwise
// wake on every event and test its scope on each: with 1,000 readers of
// 1,000 tenants, a million scope tests a second to deliver a thousand
// events. A routed cursor (SeekRouted) instead joins the hub's audience
// index (auth.Index): Publish looks each event's audience up once (one
// lookup of the row's tenant, not one filter per reader), builds what each
// class of scope may see once, and pushes it onto the inboxes of that
// audience only, waking only their readers. The reader then applies only
// its own subscription (Item.Scoped). Events published before the cursor
// joined (a resume) are read from the ring as usual and scoped by the
// reader, with the scope of the token presented now.

// inbox is one routed cursor's queue of the views routed to it.
type inbox struct {
	scope  *auth.Scope
	client string        // its client's id (Cursor.For)
	wake   chan struct{} // its client's (Client.wakeChan), shared by the client's inboxes
	limit  int           // the client buffer: more pending is an overflow

	mu       sync.Mutex
	items    []routed
	overflow bool
}

// routed is one view of a published event, with the ring sequence number
// of the event and, when the view is the event itself, its head.
type routed struct {
	seq  uint64
	ev   *pipeline.Event
	head []byte
}

// push appends a view; it never blocks. An inbox over its limit stops
// taking views and reports the overflow to its reader.
func (in *inbox) push(r routed) {
	in.mu.Lock()
	if len(in.items) >= in.limit {
		in.overflow = true
	} else if !in.overflow {
		in.items = append(in.items, r)
	}
	in.mu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// SeekRouted places a cursor like Seek for reader c, whose events are
// narrowed by scope, and routes it (see above): from now on only the
// events scope may see reach it, already narrowed (Item.Scoped). Release
// the cursor with Unroute when it is no longer read.
func (h *Hub) SeekRouted(lastID string, c *Client, scope *auth.Scope) (Cursor, string, error) {
	cur, reset, err := h.Seek(lastID)
	if err != nil {
		return cur, reset, err
	}
	in := &inbox{scope: scope, client: c.id, wake: c.wakeChan(), limit: int(h.clientBuffer)}
	h.mu.Lock()
	// The cursor reads the ring up to here, the inbox after: Publish
	// routes under the same lock.
	cur.join, cur.joinLast, cur.in, cur.client = h.ring.head, h.last, in, c.id
	h.index.Add(scope, in)
	h.mu.Unlock()
	return cur, reset, nil
}

// Unroute removes a cursor of SeekRouted from the audience index; other
// cursors are left alone. Calls after the first do nothing.
func (h *Hub) Unroute(cur *Cursor) {
	if cur.in == nil {
		return
	}
	h.mu.Lock()
	h.index.Remove(cur.in.scope, cur.in)
	h.mu.Unlock()
	cur.in = nil
}

// route pushes e, at ring sequence seq with head, to its audience. h.mu
// must be held for writing.
func (h *Hub) route(e *pipeline.Event, seq uint64, head []byte) {
	h.index.Route(e, func(in *inbox, view *pipeline.Event) {
		if e.Client != "" && e.Client != in.client {
			return // another client's snapshot
		}
		r := routed{seq: seq, ev: view}
		if view == e {
			r.head = head
		}
		in.push(r)
	})
}

// nextRouted is NextItems for a routed cursor past its join point: the
// views routed to it.
func (h *Hub) nextRouted(c *Cursor, dst []Item, maxBytes int) ([]Item, <-chan struct{}, error) {
	h.mu.RLock()
	aborted, closed, closeAt := h.aborted, h.closed, h.closeAt
	h.mu.RUnlock()
	in := c.in
	if aborted {
		return dst, in.wake, ErrClosed
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.overflow {
		return dst, in.wake, &OverflowError{Behind: uint64(len(in.items)), Limit: uint64(in.limit)}
	}
	room := max(cap(dst)-len(dst), 1)
	bytes, n := 0, 0
	for n < len(in.items) && room > 0 && (bytes < maxBytes || bytes == 0) {
		r := in.items[n]
		if closed && r.seq >= closeAt {
			break
		}
		n++
		if c.skipping {
			if !c.skip.less(idOf(r.ev)) {
				continue
			}
			c.skipping = false
		}
		dst = append(dst, Item{Event: r.ev, Head: r.head, Scoped: true})
		bytes += len(r.ev.Encoded())
		room--
	}
	rest := copy(in.items, in.items[n:])
	clear(in.items[rest:])
	in.items = in.items[:rest]
	if rest == 0 && cap(in.items) > 64 {
		in.items = nil // a burst's backing array goes
	}
	c.pending = uint64(rest)
	if closed && bytes == 0 && (rest == 0 || in.items[0].seq >= closeAt) {
		return dst, in.wake, ErrClosed
	}
	return dst, in.wake, nil
}
