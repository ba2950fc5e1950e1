package hub

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// store is what outlives a ring in these tests: every event published,
// read back by id as a pgcdc edge's stream is.
type store struct {
	evs   []*pipeline.Event
	calls int
	fail  error
	// during runs before each event a backfill hands out (it may
	// publish, and so evict from the ring).
	during func()
}

func (s *store) backfill(ctx context.Context, afterID, beforeID string, fn func(*pipeline.Event) error) error {
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	after, err := parseEventID(afterID)
	if err != nil {
		return err
	}
	before, err := parseEventID(beforeID)
	if err != nil {
		return err
	}
	for i := 0; i < len(s.evs); i++ { // s.evs may grow while it runs
		e := s.evs[i]
		if id := idOf(e); !after.less(id) || !id.less(before) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.during != nil {
			s.during()
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) publish(h *Hub, evs []*pipeline.Event) {
	s.evs = append(s.evs, evs...)
	h.Publish(evs)
}

// resume seeks after id and reads everything: the backfill, then the ring.
func resume(t *testing.T, h *Hub, id string) (got []string, reset string) {
	t.Helper()
	cur, reset, err := h.Seek(id)
	if err != nil || reset != "" {
		t.Fatalf("Seek(%s) = %q, %v", id, reset, err)
	}
	if !cur.Backfilling() {
		t.Fatalf("Seek(%s) of an id older than the ring: not backfilling", id)
	}
	reset, err = h.Backfill(context.Background(), &cur, func(e *pipeline.Event) error {
		got = append(got, e.ID())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cur.Backfilling() {
		t.Fatal("still backfilling after Backfill")
	}
	return append(got, readAll(t, h, &cur)...), reset
}

// TestBackfill: with a store, an id older than the ring resumes exactly
// (the store's events, then the ring's: no gap, no duplicate), also when
// the ring evicts while the backfill runs, and when nothing was evicted
// yet (the id predates the first event this hub received); a store that
// fails is a reset with a live cursor.
func TestBackfill(t *testing.T) {
	var g hubtest.Gen
	st := &store{}
	h := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 10}}, WithBackfill(st.backfill))
	evs := g.Orders(0, 100)
	st.publish(h, evs)
	got, reset := resume(t, h, evs[4].ID())
	if want := ids(evs[5:]); reset != "" || !slices.Equal(got, want) {
		t.Fatalf("resume after event 4: reset %q\n got %v\nwant %v", reset, got, want)
	}
	// Within the ring: no backfill.
	before := st.calls
	if cur, _, _ := h.Seek(evs[95].ID()); cur.Backfilling() || st.calls != before {
		t.Fatal("a resume within the ring backfilled")
	}

	// Writes go on while the client backfills: 30 more events evict all
	// of the ring the cursor was placed on.
	more := g.Orders(100, 30)
	n := 0
	st.during = func() {
		if n < len(more) {
			st.publish(h, more[n:n+1])
			n++
		}
	}
	got, reset = resume(t, h, evs[50].ID())
	st.during = nil
	all := append(slices.Clone(evs), more...)
	if want := ids(all[51:]); reset != "" || !slices.Equal(got, want) {
		t.Fatalf("resume under writes: reset %q\n got %v\nwant %v", reset, got, want)
	}

	// The hub received nothing before 'late', the store has what came
	// before it.
	h2 := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 10}}, WithBackfill(st.backfill))
	h2.Publish(all[120:])
	got, reset = resume(t, h2, all[100].ID())
	if want := ids(all[101:]); reset != "" || !slices.Equal(got, want) {
		t.Fatalf("resume before the first event received: reset %q\n got %v\nwant %v", reset, got, want)
	}

	// The store cannot: a reset, and the cursor is live.
	st.fail = errors.New("stream unreachable")
	cur, _, _ := h.Seek(evs[3].ID())
	reset, err := h.Backfill(context.Background(), &cur, func(*pipeline.Event) error { t.Fatal("event from a failing store"); return nil })
	if err != nil || !strings.Contains(reset, "stream unreachable") || !strings.Contains(reset, "reload your state") {
		t.Fatalf("failing store: reset %q, err %v", reset, err)
	}
	if left := readAll(t, h, &cur); len(left) != 0 {
		t.Fatalf("after the reset the cursor read %d old events, want it live", len(left))
	}
	st.fail = nil

	// The client's own error stops the backfill and is returned.
	cur, _, _ = h.Seek(evs[3].ID())
	stop := errors.New("client went away")
	if _, err := h.Backfill(context.Background(), &cur, func(*pipeline.Event) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Backfill returned %v, want the callback's error", err)
	}

	// Page (/api/changes) backfills too.
	p, err := h.Page(context.Background(), evs[10].ID(), 5, nil)
	if err != nil || p.Reset != "" || !slices.Equal(ids(p.Events), ids(evs[11:16])) || p.Next != evs[15].ID() {
		t.Fatalf("Page from the store: %v %+v", err, p)
	}
	p, err = h.Page(context.Background(), all[118].ID(), 100, nil)
	if err != nil || p.Reset != "" || !slices.Equal(ids(p.Events), ids(all[119:])) {
		t.Fatalf("Page across the store and the ring: %v %v", err, ids(p.Events))
	}
}

// TestBackfillRouted: a routed (scoped) cursor backfills what its scope
// may see, and reads the rest from the ring and its inbox without a
// duplicate, also when its ring part is evicted during the backfill.
func TestBackfillRouted(t *testing.T) {
	var g hubtest.Gen
	st := &store{}
	h := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 8}}, WithBackfill(st.backfill))
	var evs []*pipeline.Event
	order := func(i int) *pipeline.Event {
		return hubtest.Order(g.Next(), 0, pipeline.OpInsert, i, []string{"paid", "new"}[i%2], 1)
	}
	for i := range 40 {
		evs = append(evs, order(i))
	}
	st.publish(h, evs)
	reg, _ := h.Register()
	cur, reset, err := h.SeekRouted(evs[2].ID(), reg, statusScopes(t, "paid")[0])
	if err != nil || reset != "" || !cur.Backfilling() {
		t.Fatalf("SeekRouted: %q %v backfilling=%v", reset, err, cur.Backfilling())
	}
	var got []string
	i := 40
	st.during = func() { // 20 more while it backfills: the ring part is evicted
		if i < 60 {
			e := order(i)
			evs = append(evs, e)
			st.publish(h, []*pipeline.Event{e})
			i++
		}
	}
	if reset, err := h.Backfill(context.Background(), &cur, func(e *pipeline.Event) error {
		got = append(got, e.ID())
		return nil
	}); err != nil || reset != "" {
		t.Fatal(reset, err)
	}
	st.during = nil
	for _, it := range readItems(t, h, &cur) {
		got = append(got, it.Event.ID())
	}
	// Up to the join, every event (unscoped: the client applies its
	// scope); after it, the inbox's: the paid ones (even order ids).
	want := ids(evs[3:40])
	for i := 40; i < 60; i += 2 {
		want = append(want, evs[i].ID())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("routed resume under writes:\n got %v\nwant %v", got, want)
	}
}
