package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// edgeConfig is an edge reading stream "pgcdc" at url; sinks are its
// sinks: entries, indented.
func edgeConfig(t *testing.T, url, sinks string) string {
	return writeConfig(t, fmt.Sprintf(`source:
  type: nats
  nats: {url: %q, stream: pgcdc}
server: {listen: "127.0.0.1:0"}
sinks:
%slog: {level: info}
`, url, sinks))
}

// liveEvent is what the edge tests read of a live event.
type liveEvent struct {
	ID         string         `json:"id"`
	Table      string         `json:"table"`
	CommitTime time.Time      `json:"commit_time"`
	After      map[string]any `json:"after"`
}

// rowsOf returns the items primary keys of evs, in order, failing on ids
// that do not increase.
func rowsOf(t *testing.T, evs []liveEvent) []int64 {
	t.Helper()
	var pks []int64
	for i, e := range evs {
		if i > 0 && e.ID <= evs[i-1].ID {
			t.Fatalf("event %d: id %s after %s", i, e.ID, evs[i-1].ID)
		}
		if e.Table != "items" {
			continue
		}
		pk, err := parsePK(e.After["id"])
		if err != nil {
			t.Fatal(err)
		}
		pks = append(pks, pk)
	}
	return pks
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// readSSE reads SSE events until the items row last arrives.
func readSSE(t *testing.T, c *sseClient, last int64) []liveEvent {
	t.Helper()
	var evs []liveEvent
	for {
		name, _, data := c.next(t)
		if name == "reset" {
			t.Fatalf("SSE reset: %s", data)
		}
		var e liveEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		if pk, _ := parsePK(e.After["id"]); e.Table == "items" && pk == last {
			return evs
		}
	}
}

// readWSUntil reads WebSocket events of subscription s1 until row last.
func readWSUntil(t *testing.T, ws *websocket.Conn, last int64) []liveEvent {
	t.Helper()
	var evs []liveEvent
	for {
		var msg struct {
			Type   string    `json:"type"`
			Reason string    `json:"reason"`
			Event  liveEvent `json:"event"`
		}
		if err := ws.ReadJSON(&msg); err != nil {
			t.Fatalf("websocket: %v", err)
		}
		switch msg.Type {
		case "subscribed":
			continue
		case "event":
		default:
			t.Fatalf("websocket message %s %s", msg.Type, msg.Reason)
		}
		evs = append(evs, msg.Event)
		if pk, _ := parsePK(msg.Event.After["id"]); msg.Event.Table == "items" && pk == last {
			return evs
		}
	}
}

func dialWS(t *testing.T, addr, resumeFrom string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(3 * time.Minute))
	sub := map[string]any{"type": "subscribe", "id": "s1", "table": []string{"public.items"}}
	if resumeFrom != "" {
		sub["resume_from"] = resumeFrom
	}
	if err := ws.WriteJSON(sub); err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestEdgeRestartResume: an edge is SIGKILLed mid-stream and restarted;
// its SSE and WebSocket clients resume with their last id and receive
// exactly what they missed (the edge refills its replay rings from the
// stream before it answers).
func TestEdgeRestartResume(t *testing.T) {
	cl, srv := natsSetup(t)
	writer := startWriter(t, cl, srv.URL())
	// The test reads its SSE client to the end, then its WebSocket one:
	// both clients' lag limits cover the whole workload, so that neither
	// is cut off as slow meanwhile (this test is about resuming; a reader
	// under -race on a loaded machine fell 1,055 events behind).
	ecfg := edgeConfig(t, srv.URL(), "  - {name: live, type: sse, client_buffer: 10000}\n  - {name: ws, type: websocket, client_buffer: 10000}\n")
	edge := startDaemon(t, "edge", "-c", ecfg)
	addr := edge.serverAddr()
	edge.waitLog("pgcdc edge running")
	sse := openSSE(t, "http://"+addr+"/events?table=public.items", "")
	ws := dialWS(t, addr, "")

	half := make(chan struct{})
	workDone := make(chan error, 1)
	go func() {
		workDone <- workload(context.Background(), cl, func(txn int) {
			if txn == workTxns/2 {
				<-half
			}
		})
	}()
	first := workRows / 2
	sseEvs, wsEvs := readSSE(t, sse, int64(first)), readWSUntil(t, ws, int64(first))
	edge.kill()
	close(half) // the second half is written while the edge is down
	if err := <-workDone; err != nil {
		t.Fatal(err)
	}
	waitStream(t, srv.URL(), workRows, 2*time.Minute)

	// The restarted edge's SSE ring holds 100 events: its client resumes
	// from the stream (the hub's backfill), the WebSocket's from its ring.
	edge2 := startDaemon(t, "edge", "-c", edgeConfig(t, srv.URL(), "  - {name: live, type: sse, client_buffer: 10000, replay: {max_events: 100}}\n  - {name: ws, type: websocket, client_buffer: 10000}\n"))
	addr2 := edge2.serverAddr()
	sse2 := openSSE(t, "http://"+addr2+"/events?table=public.items", sseEvs[len(sseEvs)-1].ID)
	ws2 := dialWS(t, addr2, wsEvs[len(wsEvs)-1].ID)
	sseAfter, wsAfter := readSSE(t, sse2, workRows), readWSUntil(t, ws2, workRows)
	edge2.stop()
	writer.stop()
	for name, got := range map[string][]int64{
		"sse before": rowsOf(t, sseEvs), "ws before": rowsOf(t, wsEvs),
		"sse after": rowsOf(t, sseAfter), "ws after": rowsOf(t, wsAfter),
	} {
		want := seq(1, int64(first))
		if name == "sse after" || name == "ws after" {
			want = seq(int64(first)+1, workRows)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %d rows (first %v), want rows %d..%d exactly once, in order", name, len(got), got[:min(3, len(got))], want[0], want[len(want)-1])
		}
	}
	t.Logf("edge SIGKILLed after row %d; SSE (from the stream, past its 100-event ring) and WebSocket clients resumed and received exactly rows %d..%d", first, first+1, workRows)
}

// TestEdgeWebhookDownLiveFlows: on one edge, the webhook receiver is down
// for 60 s while a workload streams; the SSE client of the same edge
// receives every change meanwhile, in real time; when the receiver comes
// back it gets every row, in order.
func TestEdgeWebhookDownLiveFlows(t *testing.T) {
	t.Parallel() // mostly waiting (an outage, a lease): runs beside the other waiting tests
	cl, srv := natsSetup(t)
	writer := startWriter(t, cl, srv.URL())
	r := newReceiver(t, receiverOptions{})
	r.stop()
	edge := startDaemon(t, "edge", "-c", edgeConfig(t, srv.URL(), fmt.Sprintf(`  - {name: live, type: sse}
  - {name: hooks, type: webhook, url: %s, secret: %s, batch: {max_events: 100}, retry: {initial: 50ms, max: 1s}}
`, r.url(), testSecret)))
	addr := edge.serverAddr()
	edge.waitLog("pgcdc edge running")
	sse := openSSE(t, "http://"+addr+"/events?table=public.items", "")

	const outage = 60 * time.Second
	start := time.Now()
	pace := outage / 3 / workTxns // the workload spreads over a good part of the outage
	workDone := make(chan error, 1)
	go func() {
		workDone <- workload(context.Background(), cl, func(int) { time.Sleep(pace) })
	}()
	var lat []time.Duration
	var evs []liveEvent
	for len(evs) < workRows {
		name, _, data := sse.next(t)
		now := time.Now()
		if name == "reset" {
			t.Fatalf("SSE reset: %s", data)
		}
		var e liveEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, now.Sub(e.CommitTime))
		evs = append(evs, e)
	}
	if err := <-workDone; err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, evs); !slices.Equal(got, seq(1, workRows)) {
		t.Fatalf("SSE client got %d rows, want all %d in order", len(got), workRows)
	}
	if n := len(r.snapshot()); n != 0 {
		t.Fatalf("the receiver is down but recorded %d events", n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	time.Sleep(max(0, outage-time.Since(start))) // the rest of the outage: a length of time, not a wait for an event
	r.start()
	r.waitDistinct(workRows, 2*time.Minute)
	edge.stop()
	writer.stop()
	r.checkHeaders()
	dups := checkOrder(t, r.snapshot(), 1, workRows)
	t.Logf("webhook down %s: the SSE client on the same edge got all %d rows meanwhile (commit -> client p50 %s, p99 %s); the receiver then got every row in order (%d repeats)",
		outage, workRows, p50.Round(time.Millisecond), p99.Round(time.Millisecond), dups)
	if p99 > time.Second {
		t.Errorf("SSE p99 %s during the webhook outage: not real time", p99)
	}
}

// TestEdgeFilterChecked: an edge checks its filters against the tables
// the writer published, as run does against the database: a misspelt
// column (or a value of the wrong type) stops it with exit 78 naming the
// key, instead of serving streams from which the filter drops every
// change; a filter that fits starts.
func TestEdgeFilterChecked(t *testing.T) {
	cl, srv := natsSetup(t)
	startWriter(t, cl, srv.URL())
	if _, err := cl.Psql(context.Background(), "", `INSERT INTO items VALUES (1, 1, 'x')`); err != nil {
		t.Fatal(err)
	}
	waitStream(t, srv.URL(), 1, time.Minute)
	for _, tt := range []struct{ sinks, want string }{
		{"  - {name: live, type: sse, filter: {where: [\"txnn=gt.1\"]}}\n", `sinks[0].filter.where[0]: unknown column "txnn" in public.items`},
		{"  - {name: hook, type: webhook, url: \"http://127.0.0.1:1/x\", filter: {where: [\"txn=gt.abc\"]}}\n", `sinks[0].filter.where[0]`},
	} {
		code, out := runOnce(t, "edge", "-c", edgeConfig(t, srv.URL(), tt.sinks))
		if code != exitConfig || !strings.Contains(out, tt.want) {
			t.Errorf("edge with %s: exit %d, want %d and %q; output:\n%s", tt.sinks, code, exitConfig, tt.want, out)
		}
	}
	edge := startDaemon(t, "edge", "-c", edgeConfig(t, srv.URL(), "  - {name: live, type: sse, filter: {where: [\"txn=gt.0\"]}}\n"))
	edge.waitLog("pgcdc edge running")
	edge.stop()
}

// startWriter starts the slot reader with a nats sink and waits until it
// streams and its sink created the stream: an edge started before that
// exits with "stream does not exist" (CI: the edge looked 9 ms before the
// sink created it).
func startWriter(t *testing.T, cl *pgcluster.Cluster, url string) *daemon {
	t.Helper()
	writer := startDaemon(t, "run", "-c", natsConfig(t, cl, url, ""))
	writer.waitLog("msg=streaming")
	writer.waitLog(`msg="created nats stream"`)
	return writer
}

// TestEdgeWaitsForStream: an edge started before its slot reader (as
// docker compose starts them) waits for the stream, saying so, instead of
// exiting, and answers its probes meanwhile (/healthz 200, /readyz 503);
// once the reader created it, the edge serves its changes. An edge
// stopped while it waits exits 0.
func TestEdgeWaitsForStream(t *testing.T) {
	cl, srv := natsSetup(t)
	quitter := startDaemon(t, "edge", "-c", edgeConfig(t, srv.URL(), "  - {name: live, type: sse}\n"))
	quitter.waitLog("waiting for the stream")
	quitter.stop()

	edge := startDaemon(t, "edge", "-c", edgeConfig(t, srv.URL(), "  - {name: live, type: sse}\n"))
	addr := edge.serverAddr()
	edge.waitLog("waiting for the stream")
	client := &http.Client{Timeout: 10 * time.Second}
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("%s while waiting for the stream: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s while waiting for the stream: %s, want %d", path, resp.Status, want)
		}
	}
	startWriter(t, cl, srv.URL())
	edge.waitLog("pgcdc edge running")
	sse := openSSE(t, "http://"+addr+"/events?table=public.items", "")
	if _, err := cl.Psql(context.Background(), "", `INSERT INTO items VALUES (1, 1, 'after the wait')`); err != nil {
		t.Fatal(err)
	}
	if evs := readSSE(t, sse, 1); len(evs) != 1 || evs[0].After["payload"] != "after the wait" {
		t.Fatalf("events after the wait: %+v, want the one row", evs)
	}
	edge.stop()
}
