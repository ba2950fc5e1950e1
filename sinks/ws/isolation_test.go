package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// dialSmall dials with a 4 KB receive buffer, so that the server's writes
// block soon when the client does not read.
func dialSmall(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSlowClientGets1013: a client that stops reading falls more than
// client_buffer behind; when it reads again it finds its events in order,
// then close 1013 with the reason, and it resumes from its last id with no
// gap.
func TestSlowClientGets1013(t *testing.T) {
	const n = 600
	s, srv, f := newSink(t, config.Broadcast{ClientBuffer: 64, WriteTimeout: 20 * time.Second})
	slow := &client{t: t, c: dialSmall(t, wsURL(srv, "?table=orders"))}
	slow.expect("subscribed", "default")
	var g hubtest.Gen
	evs := make([]*pipeline.Event, n)
	for i := range evs {
		evs[i] = hubtest.BigOrder(g.Next(), i, 2048)
	}
	// Read the first event, so the client has an id to resume from, then
	// stall while the rest is published.
	f.Send(evs[0])
	if m := slow.expect("event", "default"); m.eventID() != evs[0].ID() {
		t.Fatalf("first event %s", m.eventID())
	}
	f.Send(evs[1:]...)
	f.Wait()
	code, text, rest := slow.closeCode()
	if code != CloseTryAgainLater || !strings.Contains(text, "events behind") {
		t.Fatalf("close %d %q, want 1013 with the reason", code, text)
	}
	got := 1 + len(rest)
	if got >= n {
		t.Fatalf("all %d events before the close", got)
	}
	for i, m := range rest {
		if m.eventID() != evs[1+i].ID() {
			t.Fatalf("event %d: %s, want %s", 1+i, m.eventID(), evs[1+i].ID())
		}
	}
	waitClients(t, s, 0)
	c := dial(t, srv, "")
	c.subscribe("s", map[string]any{"table": "orders", "resume_from": evs[got-1].ID()})
	if ids := c.events(n - got)["s"]; fmt.Sprint(ids) != fmt.Sprint(idList(evs[got:]...)) {
		t.Fatal("resume after 1013 is not exact")
	}
}

// TestStalledClientIsolated: one client that never reads is cut off while
// 100 others receive every event in order, and the heap stays bounded.
func TestStalledClientIsolated(t *testing.T) {
	const (
		readers   = 100
		n         = 2000
		eventSize = 8192
		replayMax = 4 << 20 // about 250 events: more than a reader lags
	)
	s, srv, f := newSink(t, config.Broadcast{ClientBuffer: 256, WriteTimeout: 2 * time.Second, Replay: config.Replay{MaxBytes: replayMax}})
	var g hubtest.Gen
	lsns := make([]pipeline.LSN, n)
	want := make([]string, n)
	for i := range lsns {
		lsns[i] = g.Next()
		want[i] = (&pipeline.Event{CommitLSN: lsns[i]}).ID()
	}
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	at := make([]int, readers)
	report := func(r, i int) {
		mu.Lock()
		at[r] = i
		mu.Unlock()
		cond.Broadcast()
	}
	errs := make(chan error, readers)
	var wg sync.WaitGroup
	for r := 0; r < readers; r++ {
		// The readers project (select=id): they receive every event, in
		// order, while the stalled client would be sent the full 8 KB.
		c := dial(t, srv, "?select=id")
		c.expect("subscribed", "default")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer report(r, n)
			for i := 0; i < n; i++ {
				if i%32 == 0 {
					report(r, i)
				}
				c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, b, err := c.c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("reader %d after %d events: %w", r, i, err)
					return
				}
				var m struct{ Event struct{ ID string } }
				if json.Unmarshal(b, &m); m.Event.ID != want[i] {
					errs <- fmt.Errorf("reader %d event %d: %s, want %s", r, i, m.Event.ID, want[i])
					return
				}
			}
		}()
	}
	stalled := dialSmall(t, wsURL(srv, "?table=*"))
	waitClients(t, s, readers+1)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	for i, lsn := range lsns {
		f.Send(hubtest.BigOrder(lsn, i, eventSize))
		waitMin := func(min int) {
			mu.Lock()
			for slices.Min(at) < min {
				cond.Wait()
			}
			mu.Unlock()
		}
		if i%32 == 31 { // keep the readers within their buffers on a slow (-race) machine
			waitMin(i - 64)
		}
		if i%256 == 255 {
			// Sample when the readers are idle, so that the GC sees no
			// garbage allocated while it runs.
			f.Wait()
			waitMin(i - i%32)
			runtime.GC() // measure what is retained: not garbage, not pooled spares
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("readers did not finish")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitClients(t, s, readers) // the stalled client was cut off
	_ = stalled

	// Bound: the replay buffer, plus per connection what its writer holds
	// while a write waits (the batch: maxBytes plus one event; gorilla's
	// pooled write buffer: 8 KB), plus 4 MB for the runtime, the feeder and
	// GC slack; independent of the ~16 MB published.
	const maxBytes = 32 << 10 // package live's per-write budget
	bound := uint64(replayMax + (readers+1)*(maxBytes+2*eventSize+8<<10) + 4<<20)
	t.Logf("live heap: base %d KB, peak %d KB (+%d KB), bound +%d KB", base>>10, peak>>10, (peak-base)>>10, bound>>10)
	if peak-base > bound {
		t.Errorf("heap grew by %d KB, bound %d KB", (peak-base)>>10, bound>>10)
	}
}

// TestChurn connects, subscribes and disconnects clients while events
// flow (-race).
func TestChurn(t *testing.T) {
	var g hubtest.Gen
	s, srv, f := newSink(t, config.Broadcast{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ctx.Err() == nil && j < 25; j++ {
				c, _, err := d.DialContext(ctx, wsURL(srv, ""), nil)
				if err != nil {
					errs <- err
					return
				}
				c.WriteJSON(map[string]any{"type": "subscribe", "id": "a"})
				if j%2 == 1 {
					c.WriteJSON(map[string]any{"type": "subscribe", "id": "b", "op": "insert", "select": "id"})
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for k := 0; k < 3; k++ { // subscribed, then events
					if _, _, err := c.ReadMessage(); err != nil {
						errs <- fmt.Errorf("read %d: %w", k, err)
						break
					}
				}
				if j%3 == 0 {
					c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				}
				c.Close()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 0; ; i++ {
		select {
		case <-done:
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			waitClients(t, s, 0)
			if ctx.Err() != nil {
				t.Fatal("churn did not finish in 10s")
			}
			return
		default:
			f.Send(g.Orders(i, 1)...)
			time.Sleep(200 * time.Microsecond) // pace the traffic, not a synchronisation
		}
	}
}
