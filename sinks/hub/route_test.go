package hub

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// statusScopes binds a policy "rows whose status is the token's, without
// the note column" for each status.
func statusScopes(t testing.TB, statuses ...string) []*auth.Scope {
	t.Helper()
	p, err := auth.Compile(auth.Rules{Filter: []string{"status=eq.{claims.status}"},
		Columns: map[string]auth.ColumnRule{"public.orders": {Exclude: []string{"note"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*auth.Scope
	for _, s := range statuses {
		sc, err := p.Bind(auth.Claims{"status": s})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sc)
	}
	return out
}

// readItems drains a cursor's items without waiting.
func readItems(t *testing.T, h *Hub, c *Cursor) []Item {
	t.Helper()
	var got []Item
	for {
		items, _, err := h.NextItems(c, make([]Item, 0, 5), 1<<20)
		if err != nil {
			t.Fatalf("NextItems: %v", err)
		}
		if len(items) == 0 {
			return got
		}
		got = append(got, items...)
	}
}

// moved is an update of order id from status from to status to, with the
// whole old row (REPLICA IDENTITY FULL).
func moved(lsn pipeline.LSN, id int, from, to string) *pipeline.Event {
	e := hubtest.Order(lsn, 0, pipeline.OpUpdate, id, to, 1)
	e.Before = hubtest.Order(lsn, 0, pipeline.OpInsert, id, from, 1).After
	e.Encoded()
	return e
}

// TestRouted: a routed cursor gets exactly what its scope may see, already
// scoped (denied columns gone), wakes only for its own events, and an
// update that moves a row out of its scope reaches it as a delete with
// the original's id, while the scope it moved into gets an insert.
func TestRouted(t *testing.T) {
	var g hubtest.Gen
	h := newHub(t, config.Broadcast{})
	scopes := statusScopes(t, "paid", "new")
	regs := [2]*Client{}
	curs := [2]Cursor{}
	for i, s := range scopes {
		regs[i], _ = h.Register()
		var err error
		if curs[i], _, err = h.SeekRouted("", regs[i], s); err != nil {
			t.Fatal(err)
		}
	}
	h.Publish([]*pipeline.Event{hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "new", 1)})
	select {
	case <-regs[0].wake:
		t.Fatal("the paid reader was woken for a new order")
	default:
	}
	paid := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 2, "paid", 1)
	move := moved(g.Next(), 2, "paid", "new")
	h.Publish([]*pipeline.Event{paid, move, hubtest.User(g.Next(), 0, 1, "ann")})
	select {
	case <-regs[0].wake:
	default:
		t.Fatal("the paid reader was not woken")
	}
	got := readItems(t, h, &curs[0])
	if len(got) != 2 || got[0].Event.ID() != paid.ID() || got[1].Event.ID() != move.ID() ||
		got[1].Event.Op != pipeline.OpDelete || !got[0].Scoped {
		t.Fatalf("paid reader: %v", got)
	}
	for _, it := range got {
		if strings.Contains(string(it.Event.Encoded()), "note") {
			t.Errorf("a denied column reached the reader: %s", it.Event.Encoded())
		}
	}
	got = readItems(t, h, &curs[1])
	if len(got) != 2 || got[1].Event.ID() != move.ID() || got[1].Event.Op != pipeline.OpInsert || got[1].Event.Before != nil {
		t.Fatalf("new reader: %v", got)
	}
	// Unrouted: nothing more arrives.
	h.Unroute(&curs[0])
	h.Publish([]*pipeline.Event{hubtest.Order(g.Next(), 0, pipeline.OpInsert, 3, "paid", 1)})
	if h.index.Len() != 1 {
		t.Fatalf("index holds %d readers after Unroute, want 1", h.index.Len())
	}
}

// TestRoutedResume: a routed cursor that resumes reads the events before
// it joined from the ring (not yet scoped: the reader scopes them) and
// the later ones from its inbox, with no gap and no duplicate; Close ends
// it after the events published before Close.
func TestRoutedResume(t *testing.T) {
	var g hubtest.Gen
	h := newHub(t, config.Broadcast{})
	var evs []*pipeline.Event
	for i := range 6 {
		evs = append(evs, hubtest.Order(g.Next(), 0, pipeline.OpInsert, i, []string{"paid", "new"}[i%2], 1))
	}
	h.Publish(evs)
	reg, _ := h.Register()
	cur, reset, err := h.SeekRouted(evs[1].ID(), reg, statusScopes(t, "paid")[0])
	if err != nil || reset != "" {
		t.Fatal(err, reset)
	}
	later := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 9, "paid", 1)
	h.Publish([]*pipeline.Event{later, hubtest.Order(g.Next(), 0, pipeline.OpInsert, 10, "new", 1)})
	got := readItems(t, h, &cur)
	var ids []string
	for _, it := range got {
		ids = append(ids, it.Event.ID())
	}
	// From the ring: 2, 3, 4, 5 unscoped; from the inbox: 9.
	if len(got) != 5 || got[0].Scoped || got[3].Scoped || !got[4].Scoped || ids[0] != evs[2].ID() || ids[4] != later.ID() {
		t.Fatalf("resumed routed cursor: %v", ids)
	}
	h.Close()
	h.Publish([]*pipeline.Event{hubtest.Order(g.Next(), 0, pipeline.OpInsert, 11, "paid", 1)})
	if items, _, err := h.NextItems(&cur, nil, 1<<20); !errors.Is(err, ErrClosed) || len(items) != 0 {
		t.Fatalf("after Close: %v %v, want ErrClosed", items, err)
	}
}

// TestRoutedOverflow: an inbox over the client buffer reports an overflow
// instead of growing.
func TestRoutedOverflow(t *testing.T) {
	var g hubtest.Gen
	h := newHub(t, config.Broadcast{ClientBuffer: 3})
	reg, _ := h.Register()
	cur, _, _ := h.SeekRouted("", reg, statusScopes(t, "paid")[0])
	for i := range 5 {
		h.Publish([]*pipeline.Event{hubtest.Order(g.Next(), 0, pipeline.OpInsert, i, "paid", 1)})
	}
	var over *OverflowError
	if _, _, err := h.NextItems(&cur, nil, 1<<20); !errors.As(err, &over) {
		t.Fatalf("NextItems: %v, want an overflow", err)
	}
}

// BenchmarkPublishRouted: the cost of publishing one event to 1,000
// routed readers of 1,000 tenants (one of them sees it).
func BenchmarkPublishRouted(b *testing.B) {
	var g hubtest.Gen
	h := newHub(b, config.Broadcast{Replay: config.Replay{MaxEvents: 1000}})
	statuses := make([]string, 1000)
	for i := range statuses {
		statuses[i] = "s" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	scopes := statusScopes(b, statuses...)
	curs := make([]Cursor, len(scopes))
	for i, s := range scopes {
		reg, _ := h.Register()
		curs[i], _, _ = h.SeekRouted("", reg, s)
	}
	evs := make([]*pipeline.Event, 1000)
	for i := range evs {
		evs[i] = hubtest.Order(g.Next(), 0, pipeline.OpInsert, i, statuses[i], 1)
	}
	b.ResetTimer()
	for i := range b.N {
		e := *evs[i%len(evs)]
		e.CommitLSN = g.Next()
		h.Publish([]*pipeline.Event{&e})
		if i%len(evs) == len(evs)-1 {
			b.StopTimer()
			for j := range curs {
				readItemsB(h, &curs[j])
			}
			b.StartTimer()
		}
	}
}

func readItemsB(h *Hub, c *Cursor) {
	for {
		items, _, _ := h.NextItems(c, make([]Item, 0, 64), 1<<20)
		if len(items) == 0 {
			return
		}
	}
}

// TestRoutedResumeLag: while a routed cursor replays its backlog from the
// ring, events of other scopes published meanwhile do not count as its
// lag (they go to other readers' inboxes).
func TestRoutedResumeLag(t *testing.T) {
	var g hubtest.Gen
	h := newHub(t, config.Broadcast{ClientBuffer: 5})
	first := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 0, "paid", 1)
	h.Publish([]*pipeline.Event{first, hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "paid", 1)})
	reg, _ := h.Register()
	cur, _, _ := h.SeekRouted(first.ID(), reg, statusScopes(t, "paid")[0])
	for i := range 20 { // another tenant's burst, more than the client buffer
		h.Publish([]*pipeline.Event{hubtest.Order(g.Next(), 0, pipeline.OpInsert, 10+i, "new", 1)})
	}
	if got := readItems(t, h, &cur); len(got) != 1 || got[0].Event.After == nil {
		t.Fatalf("replay: %v, want the one paid order after the first", got)
	}
}
