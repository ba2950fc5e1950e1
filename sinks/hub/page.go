package hub

import (
	"context"
	"errors"
	"slices"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Page is one page of buffered events, for /api/changes.
type Page struct {
	// Events are the matching events, oldest first (newest last), projected
	// when the subscription selects columns.
	Events []*pipeline.Event
	// Next is the id to pass as after to get the following page (and,
	// polling, the changes that come later); empty while the hub has
	// received nothing.
	Next string
	// Reset is non-empty when after is older than the replay buffer (see
	// Seek): Events is empty and Next is the newest id, so the caller
	// reloads its state and polls from there.
	Reset string
}

// errPageFull stops a backfill once a page has its events.
var errPageFull = errors.New("page full")

// pageChunk is how many events Page copies out of the ring per lock.
const pageChunk = 512

// Page returns up to limit buffered events that sub keeps (nil keeps
// every event). With after empty it returns the newest limit matching
// events; otherwise the first limit matching events after the id after,
// with the resume rules of Seek (a malformed id is an error wrapping
// pipeline.ErrBadID). Filtering runs outside the hub's lock.
func (h *Hub) Page(ctx context.Context, after string, limit int, sub pipeline.Transform) (Page, error) {
	if limit < 1 {
		limit = 1
	}
	if after == "" {
		return h.newest(limit, sub), nil
	}
	cur, reset, err := h.Seek(after)
	if err != nil {
		return Page{}, err
	}
	if reset != "" {
		return Page{Reset: reset, Next: h.lastID()}, nil
	}
	p := Page{Next: after}
	if cur.Backfilling() {
		// Older than the ring: the first events come from the store.
		reset, err := h.Backfill(ctx, &cur, func(e *pipeline.Event) error {
			p.Next = e.ID()
			if e = apply(sub, e); e != nil {
				p.Events = append(p.Events, e)
				if len(p.Events) == limit {
					return errPageFull
				}
			}
			return nil
		})
		switch {
		case errors.Is(err, errPageFull):
			return p, nil
		case err != nil:
			return Page{}, err
		case reset != "":
			return Page{Reset: reset, Next: h.lastID()}, nil
		}
	}
	cur.minLag = ^uint64(0) >> 1 // paging is never an overflow
	buf := make([]*pipeline.Event, 0, pageChunk)
	for len(p.Events) < limit {
		var err error
		buf, _, err = h.Next(&cur, buf[:0], 1<<30)
		var over *OverflowError
		if errors.As(err, &over) {
			return Page{Reset: over.Error(), Next: h.lastID()}, nil
		}
		if len(buf) == 0 {
			break
		}
		for _, e := range buf {
			p.Next = e.ID()
			if e = apply(sub, e); e != nil {
				p.Events = append(p.Events, e)
				if len(p.Events) == limit {
					break
				}
			}
		}
	}
	return p, nil
}

// newest returns the newest limit matching events, scanning backwards.
func (h *Hub) newest(limit int, sub pipeline.Transform) Page {
	h.mu.RLock()
	var p Page
	if h.started {
		p.Next = h.last.String()
	}
	end := h.ring.head
	h.mu.RUnlock()

	buf := make([]*pipeline.Event, 0, pageChunk)
	for len(p.Events) < limit {
		buf = buf[:0]
		h.mu.RLock()
		start := max(h.ring.tail, end-min(end, pageChunk))
		for s := start; s < end; s++ {
			buf = append(buf, h.ring.at(s).ev)
		}
		h.mu.RUnlock()
		if len(buf) == 0 {
			break
		}
		end = start
		for i := len(buf) - 1; i >= 0 && len(p.Events) < limit; i-- {
			if e := apply(sub, buf[i]); e != nil {
				p.Events = append(p.Events, e)
			}
		}
	}
	slices.Reverse(p.Events)
	return p
}

func apply(sub pipeline.Transform, e *pipeline.Event) *pipeline.Event {
	if sub == nil {
		return e
	}
	return sub.Apply(e)
}

func (h *Hub) lastID() string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.started {
		return ""
	}
	return h.last.String()
}
