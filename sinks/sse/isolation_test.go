package sse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// dialStalled opens a stream whose client never reads, with a small
// receive buffer so that the server's writes block soon.
func dialStalled(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	return conn
}

// progress tracks how far the slowest reader is, so that the publisher
// can keep the readers within their client buffer on a slow machine.
type progress struct {
	mu   sync.Mutex
	cond *sync.Cond
	at   []int
}

func newProgress(n int) *progress {
	p := &progress{at: make([]int, n)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *progress) set(r, i int) {
	p.mu.Lock()
	p.at[r] = i
	p.mu.Unlock()
	p.cond.Broadcast()
}

// waitMin waits until every reader has read at least i events.
func (p *progress) waitMin(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for slices.Min(p.at) < i {
		p.cond.Wait()
	}
}

// readIDs reads the id: lines of a stream and checks them against want.
func readIDs(conn net.Conn, r *bufio.Reader, want []string, report func(int)) error {
	i := 0
	defer func() { report(len(want)) }() // never leave the publisher waiting
	for i < len(want) {
		if i%32 == 0 {
			report(i)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("after %d events: %w", i, err)
		}
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			if got := string(bytes.TrimSuffix(id, []byte("\n"))); got != want[i] {
				return fmt.Errorf("event %d: got %s, want %s", i, got, want[i])
			}
			i++
		}
	}
	return nil
}

// TestStalledClientIsolated: one client that never reads is cut off while
// 100 others receive every event in order, and the heap stays bounded.
func TestStalledClientIsolated(t *testing.T) {
	const (
		readers   = 100
		n         = 3000
		eventSize = 8192
		replayMax = 4 << 20 // about 250 events: more than a reader lags
	)
	s, srv, f := newSink(t, config.Broadcast{
		ClientBuffer: 256,
		WriteTimeout: 2 * time.Second,
		Replay:       config.Replay{MaxBytes: replayMax},
	})
	addr := srv.Listener.Addr().String()
	var g hubtest.Gen
	lsns := make([]pipeline.LSN, n)
	want := make([]string, n)
	for i := range lsns {
		lsns[i] = g.Next()
		want[i] = (&pipeline.Event{CommitLSN: lsns[i]}).ID()
	}

	errs := make(chan error, readers)
	var wg sync.WaitGroup
	prog := newProgress(readers)
	for i := 0; i < readers; i++ {
		// The readers project (select=id): they still receive every event,
		// in order, but the loopback traffic of 100 readers stays small
		// while the stalled client would be sent the full 8 KB events.
		c := dial(t, srv, "?select=id", nil)
		br := bufio.NewReaderSize(c.resp.Body, 16<<10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readIDs(c.conn, br, want, func(at int) { prog.set(i, at) })
		}()
	}
	stalled := dialStalled(t, addr)
	waitClients(t, s, readers+1)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	var samples []uint64 // live heap every 256 events
	for i, lsn := range lsns {
		f.Send(hubtest.BigOrder(lsn, i, eventSize))
		if i%32 == 31 {
			// Keep the readers within their client buffer (256) and the
			// replay buffer: the
			// test is about the stalled client, not about readers that a
			// slow (-race) machine cannot keep up with.
			prog.waitMin(i - 64)
		}
		if i%256 == 255 {
			// Sample when the readers are idle, so that the GC sees no
			// garbage allocated while it runs.
			f.Wait()
			prog.waitMin(i - i%32)
			runtime.GC() // measure what is retained: not garbage, not pooled spares
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			samples = append(samples, ms.HeapAlloc)
		}
	}
	f.Wait()
	waitTimeout(t, &wg, 60*time.Second)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// The stalled client is cut off within the write timeout of its
	// blocked write: the hub counts only the readers.
	waitClients(t, s, readers)
	stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, _ := io.ReadAll(stalled) // what its buffers held, then the end
	if bytes.Count(rest, []byte("id: ")) >= n {
		t.Errorf("stalled client received all %d events", n)
	}

	// Bound: the replay buffer (max_bytes; eventSize estimates an event's
	// memory), plus what each of the 101 clients may hold while it writes
	// (its scratch: up to maxBytes plus one event, and a pooled spare), plus
	// 4 MB for the runtime, the feeder and GC slack. It does not depend on
	// how much is published: a per-client queue without a bound would hold
	// the ~24 MB published while the client was stalled.
	const maxBytes = 32 << 10 // package live's per-write budget
	bound := uint64(replayMax + (readers+1)*(maxBytes+2*eventSize+8<<10) + 4<<20)
	t.Logf("live heap: base %d KB, peak %d KB (+%d KB), bound +%d KB; published %d KB",
		base>>10, peak>>10, (peak-base)>>10, bound>>10, n*(eventSize+300)>>10)
	t.Logf("samples (KB): %v", kb(samples))
	if peak-base > bound {
		t.Errorf("heap grew by %d KB, bound %d KB", (peak-base)>>10, bound>>10)
	}
}

// TestSlowClientReadsDisconnectReason: a client that stops reading long
// enough to fall more than client_buffer behind, then reads, finds the
// events in order followed by a disconnect event naming the reason, and
// resumes from its last id without a gap.
func TestSlowClientReadsDisconnectReason(t *testing.T) {
	const n = 600
	s, srv, f := newSink(t, config.Broadcast{ClientBuffer: 64, WriteTimeout: 20 * time.Second})
	addr := srv.Listener.Addr().String()
	conn := dialStalled(t, addr)
	waitClients(t, s, 1)
	var g hubtest.Gen
	evs := make([]*pipeline.Event, n)
	for i := range evs {
		evs[i] = hubtest.BigOrder(g.Next(), i, 2048)
	}
	// Read the first event, so the stream is established and the client
	// has an id to resume from, then stall while the rest is published.
	f.Send(evs[0])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, resp: resp, r: bufio.NewReader(resp.Body)}
	last := c.events(1)[0]
	f.Send(evs[1:]...)
	f.Wait()
	got := 1
	for {
		m := c.next()
		if m.retry != "" {
			continue
		}
		if m.event == "disconnect" {
			var body struct{ Reason, Message string }
			if err := json.Unmarshal([]byte(m.data), &body); err != nil || body.Reason != "overflow" || !strings.Contains(body.Message, "events behind") {
				t.Fatalf("disconnect data %q (%v)", m.data, err)
			}
			break
		}
		if m.id != evs[got].ID() {
			t.Fatalf("event %d: %s, want %s", got, m.id, evs[got].ID())
		}
		last = m.id
		got++
	}
	c.expectEnd()
	if got >= n {
		t.Fatalf("got all %d events before the disconnect", got)
	}
	c2 := dial(t, srv, "", http.Header{"Last-Event-ID": {last}})
	if ids := c2.events(n - got); fmt.Sprint(ids) != fmt.Sprint(idList(evs[got:])) {
		t.Fatal("resume after overflow is not exact")
	}
}

// TestChurn connects and disconnects clients while events flow (-race).
func TestChurn(t *testing.T) {
	var g hubtest.Gen
	s, srv, f := newSink(t, config.Broadcast{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ctx.Err() == nil && j < 25; j++ {
				query := ""
				if j%2 == 1 {
					query = "?op=insert&select=id"
				}
				c := dial(t, srv, query, nil)
				c.events(1 + j%3)
				c.conn.Close()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for i := 0; ; i++ {
		select {
		case <-done:
			waitClients(t, s, 0)
			if ctx.Err() != nil {
				t.Fatal("churn did not finish in 5s")
			}
			return
		default:
			f.Send(g.Orders(i, 1)...)
			time.Sleep(200 * time.Microsecond) // pace the traffic, not a synchronisation
		}
	}
}

func waitTimeout(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("readers did not finish within %v", d)
	}
}

func kb(v []uint64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = x >> 10
	}
	return out
}
