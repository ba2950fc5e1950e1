package hub

import (
	"context"
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Cursor is one reader's position in a hub's stream. The zero Cursor is not
// valid: get one from Seek. A Cursor is owned by one goroutine.
type Cursor struct {
	next     uint64  // sequence number of the next entry to read
	skip     eventID // while skipping, entries up to and including skip are passed over
	skipping bool
	// minLag is the smallest number of unread events this cursor has had.
	// A live cursor starts at 0; a resuming one at its replay backlog, so
	// that the backlog it asked for does not count as overflow.
	minLag  uint64
	pending uint64 // unread events after the last Next
	// in is the inbox of a routed cursor (SeekRouted), which reads the
	// ring up to join and its inbox after.
	in       *inbox
	join     uint64
	joinLast eventID // the newest id published before join
	// client is the id of the client reading: events meant for another
	// client alone (pipeline.Event.Client) are passed over.
	client string
	// backfilling: before the ring, the cursor reads the events after
	// filled (and older than the ring) from the hub's BackfillFunc.
	backfilling bool
	filled      eventID
}

// Backfilling reports whether the cursor must read, with Hub.Backfill,
// events its hub's ring no longer holds before it reads the ring.
func (c *Cursor) Backfilling() bool { return c.backfilling }

// Own ties cur to the reader named id: events meant for another reader
// alone (pipeline.Event.Client: a snapshot it asked for) are passed over,
// and those meant for id are read.
func (h *Hub) Own(cur *Cursor, id string) {
	h.mu.Lock()
	cur.client = id
	if cur.in != nil {
		cur.in.client = id
	}
	h.mu.Unlock()
}

// Pending returns how many events were published and not yet read by this
// cursor at its last Next: the client's queue depth.
func (c *Cursor) Pending() int { return int(c.pending) }

// Seek returns a cursor for a client that last saw lastID (empty: a new,
// live client). A non-empty reset means the events after lastID may no
// longer be complete: the cursor is live and the client must be told to
// reload its state, with reset as the reason. A malformed lastID returns an
// error wrapping pipeline.ErrBadID. See the package documentation for the
// exact rules.
func (h *Hub) Seek(lastID string) (cur Cursor, reset string, err error) {
	var id eventID
	if lastID != "" {
		if id, err = parseEventID(lastID); err != nil {
			return Cursor{}, "", err
		}
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	live := Cursor{next: h.ring.head}
	switch {
	case lastID == "":
		return live, "", nil
	case !h.started:
		return live, fmt.Sprintf("the replay buffer is empty (pgcdc restarted): events after %s may be missing; reload your state", lastID), nil
	case id.less(h.floor) && h.backfill != nil:
		// The ring holds the events from tail on; Backfill reads the
		// older ones after id from the store.
		c := Cursor{next: h.ring.tail, backfilling: true, filled: id}
		c.minLag = h.ring.head - c.next
		c.pending = c.minLag
		return c, "", nil
	case id.less(h.floor):
		return live, fmt.Sprintf("event %s is older than the replay buffer (it holds the events after %s): events may be missing; reload your state", lastID, h.floor), nil
	case h.last.less(id):
		if end := h.walEndLocked(); end != 0 && end < id.lsn {
			return live, fmt.Sprintf("event %s is past the server's WAL end %s: it comes from another timeline (a restore or a failover); reload your state", lastID, end), nil
		}
		live.skip, live.skipping = id, true
		return live, "", nil
	}
	c := Cursor{next: h.ring.search(id)}
	c.minLag = h.ring.head - c.next
	c.pending = c.minLag
	return c, "", nil
}

// Backfill reads, from the hub's BackfillFunc (WithBackfill), the events a
// Backfilling cursor needs that the ring no longer holds, and calls fn with
// each, in order, from the calling goroutine, outside the hub's lock; then
// the cursor reads the ring where they end. Events the ring evicts while
// it runs are read from the store as well. When the store cannot serve
// them, the cursor becomes live and reset is the reason to send the client
// (events may be missing), as Seek's. fn's error, or ctx's, is returned as
// err, with the cursor still backfilling.
func (h *Hub) Backfill(ctx context.Context, c *Cursor, fn func(*pipeline.Event) error) (reset string, err error) {
	for c.backfilling {
		h.mu.RLock()
		c.next = max(c.next, h.ring.tail)
		// Exclusive: the ring's oldest entry, or, when the ring is
		// empty, the id right after the newest evicted one. A routed
		// cursor whose ring part is gone reads the rest from its inbox:
		// the events after the newest one published before it joined.
		var before eventID
		switch {
		case c.in != nil && c.next >= c.join:
			c.next, before = c.join, c.joinLast.successor()
		case c.next < h.ring.head:
			before = idOf(h.ring.at(c.next).ev)
		default:
			before = h.floor.successor()
		}
		h.mu.RUnlock()
		var ferr error
		berr := h.backfill(ctx, c.filled.String(), before.String(), func(e *pipeline.Event) error {
			id := idOf(e)
			if !c.filled.less(id) || !id.less(before) {
				return nil // outside what was asked
			}
			c.filled = id
			if e.Client != "" && e.Client != c.client {
				return nil
			}
			ferr = fn(e)
			return ferr
		})
		if ferr != nil {
			return "", ferr
		}
		if berr != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			h.mu.RLock()
			c.next, c.backfilling = h.ring.head, false
			h.mu.RUnlock()
			c.minLag, c.pending = 0, 0
			return fmt.Sprintf("the events after %s are older than the replay buffer and could not be read from the stream (%v): events may be missing; reload your state", c.filled, berr), nil
		}
		h.mu.RLock()
		if c.next >= h.ring.tail || c.in != nil && c.next >= c.join { // nothing evicted meanwhile
			c.backfilling = false
			// The time spent backfilling does not count as falling behind.
			c.minLag = h.ring.head - c.next
			c.pending = c.minLag
		}
		h.mu.RUnlock()
	}
	return "", nil
}

// walEndLocked returns the server's WAL end, 0 when unknown. It calls the
// WithWALEnd function, which must not call back into the hub.
func (h *Hub) walEndLocked() pipeline.LSN {
	if h.walEnd == nil {
		return 0
	}
	return h.walEnd()
}

// Next appends to dst the events at the cursor, in order, and advances it:
// at most cap(dst)-len(dst) events (at least one) and, past the first, no
// more than maxBytes of encoded JSON. It also returns the channel that the
// next Publish (or Close) closes, taken atomically with the read: when Next
// returns no events, wait on it before calling again.
//
// Next returns an *OverflowError when the client fell more than its client
// buffer behind or its next event was evicted, and ErrClosed once the hub
// is closed and the cursor has read everything published before Close (at
// once after Abort).
func (h *Hub) Next(c *Cursor, dst []*pipeline.Event, maxBytes int) ([]*pipeline.Event, <-chan struct{}, error) {
	return next(h, c, dst, maxBytes, func(e *entry) *pipeline.Event { return e.ev })
}

// Item is an event with the head the hub's WithHead function made for it
// (nil without one).
type Item struct {
	Event *pipeline.Event
	Head  []byte
	// Scoped marks an event of a routed cursor (SeekRouted) that is
	// already what the cursor's scope may see: the reader applies only
	// its own subscription to it.
	Scoped bool
}

// NextItems is Next for a sink that uses WithHead: it returns the events
// with their heads.
func (h *Hub) NextItems(c *Cursor, dst []Item, maxBytes int) ([]Item, <-chan struct{}, error) {
	if c.in != nil && c.next >= c.join {
		return h.nextRouted(c, dst, maxBytes)
	}
	return next(h, c, dst, maxBytes, func(e *entry) Item { return Item{Event: e.ev, Head: e.head} })
}

func next[T any](h *Hub, c *Cursor, dst []T, maxBytes int, item func(*entry) T) ([]T, <-chan struct{}, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	wake := h.wake
	if h.aborted {
		return dst, wake, ErrClosed
	}
	end, top := h.ring.head, h.ring.head
	if h.closed {
		end = h.closeAt
	}
	if c.in != nil {
		// The rest comes through the inbox: events of other scopes
		// published since do not count as this reader's lag.
		end, top = min(end, c.join), min(top, c.join)
	}
	if c.next < h.ring.tail && c.next < end {
		return dst, wake, &OverflowError{Behind: top - c.next, Evicted: true}
	}
	if lag := top - c.next; lag > c.minLag+h.clientBuffer {
		return dst, wake, &OverflowError{Behind: lag, Limit: h.clientBuffer}
	}
	room := cap(dst) - len(dst)
	if room < 1 {
		room = 1
	}
	bytes := 0
	for c.next < end && room > 0 && (bytes < maxBytes || bytes == 0) {
		e := h.ring.at(c.next)
		c.next++
		if e.ev.Client != "" && e.ev.Client != c.client {
			continue // another client's snapshot
		}
		if c.skipping {
			if !c.skip.less(idOf(e.ev)) {
				continue
			}
			c.skipping = false
		}
		dst = append(dst, item(e))
		bytes += len(e.ev.Encoded())
		room--
	}
	c.pending = top - c.next
	c.minLag = min(c.minLag, c.pending)
	if h.closed && c.next >= end && bytes == 0 && c.in == nil {
		return dst, wake, ErrClosed
	}
	return dst, wake, nil
}

// Wait returns the channel that the next Publish (or Close) closes, and
// whether the hub is closed. A reader that holds no cursor (a WebSocket
// without subscriptions) waits on it; a reader with cursors takes the
// channel before it reads them, so that no publish is missed between its
// reads and its wait.
func (h *Hub) Wait() (<-chan struct{}, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.wake, h.closed
}
