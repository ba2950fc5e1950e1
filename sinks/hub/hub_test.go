package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// testConfig is b with the defaults, as a hub Config.
func testConfig(b config.Broadcast) Config {
	b = hubtest.Broadcast(config.TypeSSE, b)
	return Config{MaxEvents: b.Replay.MaxEvents, MaxBytes: b.Replay.MaxBytes, MaxAge: b.Replay.MaxAge,
		ClientBuffer: b.ClientBuffer, Heartbeat: b.Heartbeat}
}

func newHub(t testing.TB, b config.Broadcast, opts ...Option) *Hub {
	t.Helper()
	h, err := New(t.Name(), testConfig(b), hubtest.Catalog(), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func ids(evs []*pipeline.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// readAll drains a cursor without waiting.
func readAll(t *testing.T, h *Hub, c *Cursor) []string {
	t.Helper()
	var got []string
	for {
		evs, _, err := h.Next(c, make([]*pipeline.Event, 0, 7), 1<<20)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if len(evs) == 0 {
			return got
		}
		got = append(got, ids(evs)...)
	}
}

func TestEvictionByCountAndBytes(t *testing.T) {
	var g hubtest.Gen
	h := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 100}})
	evs := g.Orders(0, 250)
	h.Publish(evs)
	s := h.Stats()
	if s.Events != 100 || s.Oldest != evs[150].ID() || s.Newest != evs[249].ID() {
		t.Fatalf("stats after 250 events with max_events 100: %+v", s)
	}
	if len(h.ring.buf) != 128 {
		t.Errorf("ring grew to %d slots, want 128 (next power of two of max_events)", len(h.ring.buf))
	}

	size := eventSize(evs[29]) // events 20..29 have the same size
	h2 := newHub(t, config.Broadcast{Replay: config.Replay{MaxBytes: 10 * size}})
	h2.Publish(evs[:30])
	if s := h2.Stats(); s.Events != 10 || s.Bytes > 10*size || s.Oldest != evs[20].ID() {
		t.Fatalf("stats with max_bytes of 10 events: %+v (event size %d)", s, size)
	}
	// One event larger than the whole byte budget is still held, alone.
	h3 := newHub(t, config.Broadcast{Replay: config.Replay{MaxBytes: 1}})
	h3.Publish(evs[:3])
	if s := h3.Stats(); s.Events != 1 || s.Newest != evs[2].ID() {
		t.Fatalf("stats with max_bytes 1: %+v", s)
	}
}

func TestEvictionByAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g hubtest.Gen
		h := newHub(t, config.Broadcast{Replay: config.Replay{MaxAge: time.Minute}})
		evs := g.Orders(0, 3)
		h.Publish(evs[:2])
		time.Sleep(40 * time.Second)
		h.Publish(evs[2:])
		time.Sleep(30 * time.Second) // the first two are 70 s old, the third 30 s
		h.Expire()
		if s := h.Stats(); s.Events != 1 || s.Oldest != evs[2].ID() {
			t.Fatalf("after 70 s with max_age 1m: %+v", s)
		}
		// The floor is now the newest evicted event: resuming from it is exact.
		c, reset, err := h.Seek(evs[1].ID())
		if err != nil || reset != "" {
			t.Fatalf("Seek(evicted floor) = %q, %v", reset, err)
		}
		if got := readAll(t, h, &c); len(got) != 1 || got[0] != evs[2].ID() {
			t.Fatalf("resume from floor: %v", got)
		}
		if _, reset, _ := h.Seek(evs[0].ID()); reset == "" {
			t.Fatal("Seek(before floor): no reset")
		}
	})
}

func TestSeek(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 20)
	h := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 10}})

	// Nothing received yet: any id is a reset, no id is live.
	if _, reset, err := h.Seek(evs[0].ID()); err != nil || !strings.Contains(reset, "replay buffer is empty") {
		t.Fatalf("Seek on an empty hub = %q, %v; want a reset", reset, err)
	}
	h.Publish(evs[:15]) // holds 5..14, floor is 4
	tests := []struct {
		name  string
		id    string
		reset bool
		want  []*pipeline.Event
	}{
		{"live", "", false, nil},
		{"exact newest", evs[14].ID(), false, nil},
		{"exact in range", evs[9].ID(), false, evs[10:15]},
		{"floor (newest evicted)", evs[4].ID(), false, evs[5:15]},
		{"evicted", evs[3].ID(), true, nil},
		{"unknown inside the range", between(evs[7], evs[8]), false, evs[8:15]},
		{"lowercase hex", strings.ToLower(evs[12].ID()), false, evs[13:15]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, reset, err := h.Seek(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if (reset != "") != tt.reset {
				t.Fatalf("reset = %q, want reset %v", reset, tt.reset)
			}
			got := readAll(t, h, &c)
			if fmt.Sprint(got) != fmt.Sprint(ids(tt.want)) {
				t.Fatalf("got %v\nwant %v", got, ids(tt.want))
			}
		})
	}

	t.Run("ahead of the WAL end is a reset", func(t *testing.T) {
		end := evs[16].CommitLSN
		h := newHub(t, config.Broadcast{}, WithWALEnd(func() pipeline.LSN { return end }))
		h.Publish(evs[:15])
		// Between the newest received event and the WAL end: PostgreSQL
		// is re-sending, skip up to the id.
		if _, reset, err := h.Seek(evs[16].ID()); err != nil || reset != "" {
			t.Fatalf("Seek(at the WAL end) = %q, %v; want no reset", reset, err)
		}
		// Past the WAL end: another timeline.
		_, reset, err := h.Seek(evs[17].ID())
		if err != nil || !strings.Contains(reset, "past the server's WAL end "+end.String()) {
			t.Fatalf("Seek(past the WAL end) = %q, %v; want a reset naming the WAL end", reset, err)
		}
		// An unknown WAL end (0) keeps the old behaviour.
		end = 0
		if _, reset, _ := h.Seek(evs[17].ID()); reset != "" {
			t.Fatalf("Seek with an unknown WAL end = %q, want no reset", reset)
		}
	})

	t.Run("ahead of the buffer skips re-sent events", func(t *testing.T) {
		c, reset, err := h.Seek(evs[17].ID())
		if err != nil || reset != "" {
			t.Fatalf("Seek(ahead) = %q, %v", reset, err)
		}
		h.Publish(evs[15:20])
		if got := readAll(t, h, &c); fmt.Sprint(got) != fmt.Sprint(ids(evs[18:20])) {
			t.Fatalf("got %v, want %v", got, ids(evs[18:20]))
		}
	})

	for _, bad := range []string{"42", "0/16B3748", "000000000000000G:00000000", "0000000000000001:0000000", " 0000000000000001:00000000"} {
		if _, _, err := h.Seek(bad); !errors.Is(err, pipeline.ErrBadID) {
			t.Errorf("Seek(%q) error = %v, want ErrBadID", bad, err)
		}
	}
}

// between returns an id after a and before b, which no event has.
func between(a, b *pipeline.Event) string {
	e := pipeline.Event{CommitLSN: a.CommitLSN + 1, Seq: 0}
	if e.CommitLSN >= b.CommitLSN {
		panic("events too close")
	}
	return e.ID()
}

func TestPublishDropsResentEvents(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 10)
	h := newHub(t, config.Broadcast{})
	c, _, _ := h.Seek("")
	h.Publish(evs[:6])
	h.Publish(evs[3:10]) // a reconnect re-sends 3..5
	if got := readAll(t, h, &c); fmt.Sprint(got) != fmt.Sprint(ids(evs)) {
		t.Fatalf("got %v, want each id once, in order", got)
	}
}

func TestNextBudget(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 10)
	h := newHub(t, config.Broadcast{})
	c, _, _ := h.Seek("")
	h.Publish(evs)
	got, _, err := h.Next(&c, make([]*pipeline.Event, 0, 4), 1<<20)
	if err != nil || len(got) != 4 {
		t.Fatalf("Next with room for 4 = %d events, %v", len(got), err)
	}
	size := len(evs[0].Encoded())
	got, _, err = h.Next(&c, make([]*pipeline.Event, 0, 100), 2*size)
	if err != nil || len(got) != 2 {
		t.Fatalf("Next with a budget of 2 events' bytes = %d events, %v", len(got), err)
	}
	got, _, err = h.Next(&c, make([]*pipeline.Event, 0, 100), 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("Next with a budget smaller than one event = %d events, %v; want 1", len(got), err)
	}
	if c.Pending() != 3 {
		t.Errorf("Pending = %d, want 3", c.Pending())
	}
}

func TestOverflow(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 100)
	h := newHub(t, config.Broadcast{ClientBuffer: 10, Replay: config.Replay{MaxEvents: 50}})
	slow, _, _ := h.Seek("")
	h.Publish(evs[:10])
	if _, _, err := h.Next(&slow, make([]*pipeline.Event, 0, 1), 1<<20); err != nil {
		t.Fatalf("10 behind with client_buffer 10: %v", err)
	}
	h.Publish(evs[10:12]) // 9 read-pending + 2 = 11 behind
	_, _, err := h.Next(&slow, make([]*pipeline.Event, 0, 1), 1<<20)
	var over *OverflowError
	if !errors.As(err, &over) || over.Evicted || over.Behind != 11 || over.Limit != 10 {
		t.Fatalf("11 behind with client_buffer 10: %v", err)
	}
	if len(over.Error()) > 123 {
		t.Errorf("reason %q is longer than a WebSocket close frame allows", over.Error())
	}

	// A resuming client may take its backlog, but may not fall further.
	resume, reset, _ := h.Seek(evs[0].ID())
	if reset != "" {
		t.Fatal(reset)
	}
	if _, _, err := h.Next(&resume, make([]*pipeline.Event, 0, 1), 1<<20); err != nil {
		t.Fatalf("resume with an 11-event backlog: %v", err)
	}
	h.Publish(evs[12:23])
	if _, _, err := h.Next(&resume, make([]*pipeline.Event, 0, 1), 1<<20); !errors.As(err, &over) {
		t.Fatalf("resuming client that fell 11 further behind: %v", err)
	}

	// A cursor whose next event was evicted overflows, whatever its allowance.
	old, _, _ := h.Seek(evs[22].ID())
	old.minLag = 1 << 40
	h.Publish(evs[23:100])
	if _, _, err := h.Next(&old, make([]*pipeline.Event, 0, 1), 1<<20); !errors.As(err, &over) || !over.Evicted {
		t.Fatalf("evicted cursor: %v", err)
	}
}

func TestCloseDrainsThenEnds(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 6)
	h := newHub(t, config.Broadcast{})
	cl, err := h.Register()
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := h.Seek("")
	h.Publish(evs[:4])
	_, wake, _ := h.Next(&c, make([]*pipeline.Event, 0, 1), 1<<20)
	h.Close()
	select {
	case <-wake:
	default:
		t.Fatal("Close did not wake readers")
	}
	h.Publish(evs[4:]) // after Close: buffered, not delivered
	var got []string
	for {
		evs, _, err := h.Next(&c, make([]*pipeline.Event, 0, 10), 1<<20)
		got = append(got, ids(evs)...)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids(evs[1:4])) {
		t.Fatalf("after Close got %v, want the rest of what was published before it", got)
	}
	if _, err := h.Register(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Register after Close = %v", err)
	}
	select {
	case <-h.Idle():
		t.Fatal("idle while a client is registered")
	default:
	}
	cl.Leave(ReasonShutdown)
	cl.Leave(ReasonShutdown)
	select {
	case <-h.Idle():
	case <-time.After(5 * time.Second):
		t.Fatal("not idle after the last client left")
	}

	h2 := newHub(t, config.Broadcast{})
	c2, _, _ := h2.Seek("")
	h2.Publish(evs)
	h2.Abort()
	if got, _, err := h2.Next(&c2, make([]*pipeline.Event, 0, 10), 1<<20); !errors.Is(err, ErrClosed) || len(got) != 0 {
		t.Fatalf("after Abort: %d events, %v", len(got), err)
	}
}

func TestPage(t *testing.T) {
	var g hubtest.Gen
	evs := g.Orders(0, 30)
	h := newHub(t, config.Broadcast{Replay: config.Replay{MaxEvents: 20}})
	if p, _ := h.Page(context.Background(), "", 5, nil); len(p.Events) != 0 || p.Next != "" {
		t.Fatalf("empty hub page: %+v", p)
	}
	h.Publish(evs)
	p, err := h.Page(context.Background(), "", 5, nil)
	if err != nil || fmt.Sprint(ids(p.Events)) != fmt.Sprint(ids(evs[25:])) || p.Next != evs[29].ID() {
		t.Fatalf("newest page: %v %q %v", ids(p.Events), p.Next, err)
	}
	p, err = h.Page(context.Background(), evs[10].ID(), 4, nil)
	if err != nil || fmt.Sprint(ids(p.Events)) != fmt.Sprint(ids(evs[11:15])) || p.Next != evs[14].ID() {
		t.Fatalf("page after 10: %v %q %v", ids(p.Events), p.Next, err)
	}
	p, _ = h.Page(context.Background(), evs[5].ID(), 4, nil)
	if p.Reset == "" || len(p.Events) != 0 || p.Next != evs[29].ID() {
		t.Fatalf("page after an evicted id: %+v", p)
	}
	even := pipeline.TransformFunc(func(e *pipeline.Event) *pipeline.Event {
		if e.CommitLSN/0x100%2 == 0 {
			return e
		}
		return nil
	})
	p, _ = h.Page(context.Background(), evs[20].ID(), 2, even)
	if len(p.Events) != 2 || p.Events[1].ID() != p.Next {
		t.Fatalf("filtered page: %v next %q", ids(p.Events), p.Next)
	}
	if _, err := h.Page(context.Background(), "nope", 1, nil); !errors.Is(err, pipeline.ErrBadID) {
		t.Fatalf("malformed after: %v", err)
	}
}

// TestConcurrentReaders runs readers that wait on the wake channel while a
// writer publishes; each must see every event once, in order (run with
// -race).
func TestConcurrentReaders(t *testing.T) {
	var g hubtest.Gen
	const n, readers = 3000, 16
	evs := g.Orders(0, n)
	h := newHub(t, config.Broadcast{ClientBuffer: n})
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	start := make(chan struct{})
	for r := 0; r < readers; r++ {
		c, _, _ := h.Seek("")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			i := 0
			buf := make([]*pipeline.Event, 0, 64)
			for {
				got, wake, err := h.Next(&c, buf[:0], 1<<20)
				for _, e := range got {
					if e != evs[i] {
						errs <- fmt.Errorf("reader got %s at %d, want %s", e.ID(), i, evs[i].ID())
						return
					}
					i++
				}
				if errors.Is(err, ErrClosed) {
					if i != n {
						errs <- fmt.Errorf("reader ended after %d events, want %d", i, n)
					}
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					<-wake
				}
			}
		}()
	}
	close(start)
	for i := 0; i < n; i += 10 {
		h.Publish(evs[i : i+10])
	}
	h.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("readers did not finish")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConsume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g hubtest.Gen
		h := newHub(t, config.Broadcast{Replay: config.Replay{MaxAge: 10 * time.Second}})
		in := make(chan *pipeline.Batch)
		done := make(chan error)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { done <- h.Consume(ctx, in) }()
		var acked int
		for _, e := range g.Orders(0, 3) {
			in <- pipeline.NewBatch([]*pipeline.Event{e}, 0, func() { acked++ })
		}
		in <- pipeline.NewBatch(nil, 0, func() { acked++ })
		synctest.Wait()
		if acked != 4 || h.Stats().Events != 3 {
			t.Fatalf("acked %d batches, buffered %d events", acked, h.Stats().Events)
		}
		time.Sleep(11500 * time.Millisecond) // the ticker ages the events out
		if n := h.Stats().Events; n != 0 {
			t.Fatalf("%d events left after max_age on an idle stream", n)
		}
		cl, _ := h.Register()
		close(in)
		synctest.Wait()
		if !h.Closed() {
			t.Fatal("hub not closed after input closed")
		}
		// The drain has no clock of its own: Consume waits for the
		// straggler until the caller's context ends, then aborts it.
		time.Sleep(time.Hour)
		select {
		case err := <-done:
			t.Fatalf("Consume returned %v while a client was still draining and ctx was live", err)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		c, _, _ := h.Seek("")
		if _, _, err := h.Next(&c, make([]*pipeline.Event, 0, 1), 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("after drain timeout Next = %v, want ErrClosed", err)
		}
		cl.Leave(ReasonShutdown)
	})
}

// TestWakeCoalescing: the first event after a quiet interval wakes
// readers at once; events within the wake interval of the last wake-up wake
// them together at the end of the interval.
func TestWakeCoalescing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g hubtest.Gen
		evs := g.Orders(0, 3)
		h := newHub(t, config.Broadcast{})
		closed := func(ch <-chan struct{}) bool {
			select {
			case <-ch:
				return true
			default:
				return false
			}
		}
		// The interval grows with the clients: with 1,000 it is well
		// above the 1 ms floor.
		var clients []*Client
		for range 1000 {
			c, err := h.Register()
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		iv := wakeInterval(len(clients), h.procs)
		if iv <= 2*minWake {
			t.Fatalf("interval %v with 1000 clients on %d CPUs", iv, h.procs)
		}
		w0, _ := h.Wait()
		h.Publish(evs[:1])
		if !closed(w0) {
			t.Fatal("first event did not wake at once")
		}
		w1, _ := h.Wait()
		time.Sleep(iv / 4)
		h.Publish(evs[1:2])
		h.Publish(evs[2:3])
		if closed(w1) {
			t.Fatal("events within the interval woke at once")
		}
		time.Sleep(iv - iv/4 - time.Nanosecond)
		if closed(w1) {
			t.Fatal("woke before the interval ended")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if !closed(w1) {
			t.Fatal("no wake-up at the end of the interval")
		}
		w2, _ := h.Wait()
		h.Close() // Close wakes at once, whatever the interval
		if !closed(w2) {
			t.Fatal("Close did not wake at once")
		}
		for _, c := range clients {
			c.Leave(ReasonShutdown)
		}
	})
}

// The coalescing interval is 40 µs per client per CPU, between 1 and 50 ms.
func TestWakeInterval(t *testing.T) {
	for _, c := range []struct {
		clients, procs int
		want           time.Duration
	}{
		{0, 2, time.Millisecond},
		{10, 2, time.Millisecond},
		{100, 2, 2 * time.Millisecond},
		{1000, 2, 20 * time.Millisecond},
		{1000, 16, 2500 * time.Microsecond},
		{1000, 0, 40 * time.Millisecond},
		{5000, 2, 50 * time.Millisecond},
	} {
		if got := wakeInterval(c.clients, c.procs); got != c.want {
			t.Errorf("wakeInterval(%d clients, %d CPUs) = %v, want %v", c.clients, c.procs, got, c.want)
		}
	}
}
