package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// snapEvent is what the snapshot tests read of an event.
type snapEvent struct {
	ID       string                     `json:"id"`
	Op       string                     `json:"op"`
	Table    string                     `json:"table"`
	Key      map[string]json.RawMessage `json:"key"`
	Before   map[string]json.RawMessage `json:"before"`
	After    map[string]json.RawMessage `json:"after"`
	Snapshot *struct {
		ID string `json:"id"`
	} `json:"snapshot"`
}

// snapReplica applies events in order, as a consumer would.
type snapReplica struct {
	rows      map[string]string // id -> canonical JSON of the row
	reads     map[string]int    // by snapshot id
	snapshots []string          // completed, in order
	regions   map[string]map[string]int
	lastID    string
	unordered int
}

func newSnapReplica() *snapReplica {
	return &snapReplica{rows: map[string]string{}, reads: map[string]int{}, regions: map[string]map[string]int{}}
}

func (m *snapReplica) apply(t *testing.T, e snapEvent) {
	t.Helper()
	if e.ID <= m.lastID {
		m.unordered++
	}
	m.lastID = e.ID
	rowID := func(r map[string]json.RawMessage) string { return string(r["id"]) }
	canon := func(r map[string]json.RawMessage) string { b, _ := json.Marshal(r); return string(b) }
	switch e.Op {
	case "read":
		m.reads[e.Snapshot.ID]++
		if m.regions[e.Snapshot.ID] == nil {
			m.regions[e.Snapshot.ID] = map[string]int{}
		}
		m.regions[e.Snapshot.ID][string(e.After["region"])]++
		m.rows[rowID(e.After)] = canon(e.After)
	case "insert", "update":
		m.rows[rowID(e.After)] = canon(e.After)
	case "delete":
		r := e.Before
		if r == nil {
			r = e.Key
		}
		delete(m.rows, rowID(r))
	case "snapshot_completed":
		m.snapshots = append(m.snapshots, e.Snapshot.ID)
	}
}

// ordersTable reads public.orders as canonical JSON rows by id.
func ordersTable(t *testing.T, db *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id::text, json_build_object('id', id, 'v', v, 'region', region)::text FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, js string
		if err := rows.Scan(&id, &js); err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal([]byte(js), &m)
		b, _ := json.Marshal(m)
		out[id] = string(b)
	}
	return out
}

func sameRows(t *testing.T, who string, got, want map[string]string) {
	t.Helper()
	bad := 0
	for k, w := range want {
		if got[k] != w {
			if bad++; bad <= 3 {
				t.Errorf("%s: row %s is %q, want %q", who, k, got[k], w)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			if bad++; bad <= 3 {
				t.Errorf("%s: row %s should not be there", who, k)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d rows differ from the table (%d rows)", who, bad, len(want))
	}
}

// hookSink is a webhook receiver that keeps every event of the requests
// it accepts, in order.
type hookSink struct {
	mu     sync.Mutex
	events []snapEvent
	wake   chan struct{}
	srv    *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{wake: make(chan struct{}, 1)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var evs []snapEvent
		if err := json.Unmarshal(body, &evs); err != nil {
			var one snapEvent
			if err := json.Unmarshal(body, &one); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			evs = []snapEvent{one}
		}
		h.mu.Lock()
		h.events = append(h.events, evs...)
		h.mu.Unlock()
		select {
		case h.wake <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) waitFor(t *testing.T, what string, cond func([]snapEvent) bool) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		h.mu.Lock()
		ok := cond(h.events)
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-h.wake:
		case <-deadline:
			t.Fatalf("webhook: timed out waiting for %s", what)
		}
	}
}

func (h *hookSink) snapshot() []snapEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]snapEvent(nil), h.events...)
}

func hasMarker(evs []snapEvent, marker string) bool {
	for _, e := range evs {
		if e.Op == "insert" && string(e.After["region"]) == `"`+marker+`"` {
			return true
		}
	}
	return false
}

func parseSnapEvents(t *testing.T, lines []string) []snapEvent {
	t.Helper()
	out := make([]snapEvent, 0, len(lines))
	for _, l := range lines {
		var e snapEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not an event: %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// ordersWriter changes orders until ctx ends.
func ordersWriter(ctx context.Context, t *testing.T, cl *pgcluster.Cluster, rows, next int, wg *sync.WaitGroup) {
	defer wg.Done()
	db, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close(context.Background())
	for n := 0; ctx.Err() == nil; n++ {
		id := 1 + rand.N(rows)
		var err error
		switch n % 4 {
		case 0, 1:
			_, err = db.Exec(ctx, `UPDATE orders SET v = v + 1 WHERE id = $1`, id)
		case 2:
			_, err = db.Exec(ctx, `DELETE FROM orders WHERE id = $1`, id)
		case 3:
			_, err = db.Exec(ctx, `INSERT INTO orders VALUES ($1, 0, 'eu')`, next)
			next++
		}
		if err != nil && ctx.Err() == nil {
			t.Errorf("writer: %v", err)
			return
		}
	}
}

// TestSnapshotEndToEnd: source.snapshot initial sends 20,000 existing rows
// while writes go on, to stdout, a webhook and an SSE client: each ends
// with exactly the table. Then `pgcdc snapshot --sink hook --where` sends
// one region's rows again to the webhook only, while streaming goes on:
// it converges, and the other sinks get nothing extra.
func TestSnapshotEndToEnd(t *testing.T) {
	const rows = 20_000
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", fmt.Sprintf(`CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL, region text NOT NULL);
INSERT INTO orders SELECT g, 0, CASE WHEN g %% 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, %d) g`, rows)); err != nil {
		t.Fatal(err)
	}
	hook := newHookSink(t)
	cfg := writeConfig(t, fmt.Sprintf(`source:
  dsn: %q
  create: true
  tables: ["public.*"]
  snapshot: initial
  snapshot_chunk_rows: 2000
  status_interval: 1s
server: {listen: "127.0.0.1:0"}
sinks:
  - {name: out, type: stdout}
  - {name: hook, type: webhook, url: %q, batch: {max_events: 500}}
  - {name: live, type: sse, client_buffer: 1000000, replay: {max_events: 1000000, max_bytes: 268435456}}
log: {level: info}
`, cl.DSN(""), hook.srv.URL+"/hooks"))
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go ordersWriter(wctx, t, cl, rows, 10_000_000, &wg)
	d := startDaemon(t, "run", "-c", cfg)
	addr := d.serverAddr()
	d.waitLines(1, time.Minute)
	// The SSE client resumes after the first event, from the replay buffer.
	first := parseSnapEvents(t, d.lines()[:1])[0]
	// stdout may print it before the SSE sink has received it: a hub that
	// has received nothing yet answers a resume with a reset (it cannot
	// know what was confirmed before). Reconnect until it resumes.
	var sse *sseClient
	var pre []snapEvent
	for deadline := time.Now().Add(time.Minute); ; {
		sse = openSSE(t, "http://"+addr+"/events?table=public.orders", first.ID)
		ev, _, data := sse.next(t)
		if ev != "reset" {
			pre = parseSnapEvents(t, []string{data})
			break
		}
		sse.resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("SSE resume: still a reset after a minute")
		}
	}
	var sseMu sync.Mutex
	sseEvents := append([]snapEvent{first}, pre...)
	sseWake := make(chan struct{}, 1)
	go func() {
		r := sse.r
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: "); ok {
				var e snapEvent
				if json.Unmarshal([]byte(data), &e) == nil && e.ID != "" {
					sseMu.Lock()
					sseEvents = append(sseEvents, e)
					sseMu.Unlock()
					select {
					case sseWake <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	d.waitFor("snapshot_completed", 3*time.Minute, func(out, _ []string) bool {
		for i := len(out) - 1; i >= 0; i-- {
			if strings.Contains(out[i], `"op":"snapshot_completed"`) {
				return true
			}
		}
		return false
	})
	stopWriter()
	wg.Wait()
	check := func(marker string) {
		t.Helper()
		if _, err := cl.Psql(ctx, "", `INSERT INTO orders VALUES (-`+fmt.Sprint(len(marker))+`, 0, '`+marker+`')`); err != nil {
			t.Fatal(err)
		}
		d.waitFor(marker, time.Minute, func(out, _ []string) bool {
			return len(out) > 0 && strings.Contains(out[len(out)-1], marker)
		})
		hook.waitFor(t, marker, func(evs []snapEvent) bool { return hasMarker(evs, marker) })
		deadline := time.After(time.Minute)
		for {
			sseMu.Lock()
			ok := hasMarker(sseEvents, marker)
			sseMu.Unlock()
			if ok {
				break
			}
			select {
			case <-sseWake:
			case <-deadline:
				t.Fatalf("SSE client: no %s", marker)
			}
		}
	}
	check("marker1")
	_, db := connectOrders(t, cl)
	want := ordersTable(t, db)
	apply := func(evs []snapEvent) *snapReplica {
		m := newSnapReplica()
		for _, e := range evs {
			m.apply(t, e)
		}
		return m
	}
	outRep := apply(parseSnapEvents(t, d.lines()))
	sseMu.Lock()
	sseRep := apply(sseEvents)
	sseMu.Unlock()
	hookRep := apply(hook.snapshot())
	for who, m := range map[string]*snapReplica{"stdout": outRep, "webhook": hookRep, "sse": sseRep} {
		sameRows(t, who, m.rows, want)
		if m.unordered > 0 {
			t.Errorf("%s: %d events out of id order", who, m.unordered)
		}
		if len(m.snapshots) != 1 {
			t.Errorf("%s: %d snapshots completed, want 1", who, len(m.snapshots))
		}
	}

	// On demand, for the webhook only, one region, while writes go on.
	wctx, stopWriter = context.WithCancel(ctx)
	wg.Add(1)
	go ordersWriter(wctx, t, cl, rows, 20_000_000, &wg)
	code, out := runOnce(t, "snapshot", "-c", cfg, "--table", "public.orders", "--sink", "hook", "--where", "region=eq.eu", "--wait")
	if code != 0 {
		t.Fatalf("pgcdc snapshot: exit %d\n%s", code, out)
	}
	stopWriter()
	wg.Wait()
	check("marker22")
	want = ordersTable(t, db)
	hookRep = apply(hook.snapshot())
	sameRows(t, "webhook after the re-snapshot", hookRep.rows, want)
	if len(hookRep.snapshots) != 2 {
		t.Fatalf("webhook: %d snapshots completed, want 2", len(hookRep.snapshots))
	}
	again := hookRep.snapshots[1]
	if r := hookRep.regions[again]; r[`"us"`] != 0 || r[`"eu"`] < rows/4 {
		t.Errorf("the region-filtered re-snapshot sent %v", r)
	}
	outRep = apply(parseSnapEvents(t, d.lines()))
	sseMu.Lock()
	sseRep = apply(sseEvents)
	sseMu.Unlock()
	for who, m := range map[string]*snapReplica{"stdout": outRep, "sse": sseRep} {
		if m.reads[again] != 0 || len(m.snapshots) != 1 {
			t.Errorf("%s got %d reads of the webhook's snapshot (and %d snapshots)", who, m.reads[again], len(m.snapshots))
		}
	}
	d.stop()
}

func connectOrders(t *testing.T, cl *pgcluster.Cluster) (context.Context, *pgx.Conn) {
	t.Helper()
	return context.Background(), sqlConn(t, cl)
}

// TestSnapshotResumesAfterKill: a SIGKILL in the middle of a snapshot,
// then a restart: the snapshot resumes after the last chunk every sink
// acknowledged (it does not start over) and the end state is exact; the
// rows read twice are the unconfirmed tail.
func TestSnapshotResumesAfterKill(t *testing.T) {
	const rows = 200_000
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", fmt.Sprintf(`CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL, region text NOT NULL);
INSERT INTO orders SELECT g, 0, 'eu' FROM generate_series(1, %d) g`, rows)); err != nil {
		t.Fatal(err)
	}
	cfg := stdoutConfig(t, cl, "")
	cfg = writeConfig(t, strings.Replace(mustRead(t, cfg), "  create: true\n", "  create: true\n  snapshot: initial\n  snapshot_chunk_rows: 1000\n", 1))
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLines(rows/4, 2*time.Minute)
	d.kill()
	firstRun := parseSnapEvents(t, d.lines())
	d2 := startDaemon(t, "run", "-c", cfg)
	d2.waitFor("snapshot_completed", 3*time.Minute, func(out, _ []string) bool {
		return len(out) > 0 && strings.Contains(out[len(out)-1], `"op":"snapshot_completed"`)
	})
	d2.stop()
	second := parseSnapEvents(t, d2.lines())
	seen := map[string]int{}
	for _, e := range append(firstRun, second...) {
		if e.Op == "read" {
			seen[string(e.After["id"])]++
		}
	}
	twice := 0
	for id := 1; id <= rows; id++ {
		switch seen[fmt.Sprint(id)] {
		case 0:
			t.Fatalf("row %d was never read", id)
		case 1:
		default:
			twice++
		}
	}
	secondReads := 0
	for _, e := range second {
		if e.Op == "read" {
			secondReads++
		}
	}
	if secondReads >= rows {
		t.Fatalf("the restart read %d rows: it started over instead of resuming", secondReads)
	}
	t.Logf("first run read %d rows before SIGKILL, the restart %d; %d rows read twice", len(firstRun), secondReads, twice)
}

// TestLiveClientSnapshot: an SSE client with snapshot=true and a row
// filter gets the matching rows that exist, then the changes, with no race
// between the two: under concurrent writes it converges to exactly the
// filtered table. Another client without snapshot=true gets no read.
func TestLiveClientSnapshot(t *testing.T) {
	const rows = 5000
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	// FULL: a delete's old row carries region, so the filter sees it.
	if _, err := cl.Psql(ctx, "", fmt.Sprintf(`CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL, region text NOT NULL);
ALTER TABLE orders REPLICA IDENTITY FULL;
INSERT INTO orders SELECT g, 0, CASE WHEN g %% 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, %d) g`, rows)); err != nil {
		t.Fatal(err)
	}
	cfg := stdoutConfig(t, cl, "")
	cfg = writeConfig(t, strings.Replace(mustRead(t, cfg), "  - {name: out, type: stdout}",
		"  - {name: out, type: stdout}\n  - {name: live, type: sse, client_buffer: 100000, replay: {max_events: 100000}}\n  - {name: ws, type: websocket, client_buffer: 100000, replay: {max_events: 100000}}", 1))
	d := startDaemon(t, "run", "-c", cfg)
	addr := d.serverAddr()
	d.waitLog("msg=streaming")
	wctx, stopWriter := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go ordersWriter(wctx, t, cl, rows, 10_000_000, &wg)

	plain := openSSE(t, "http://"+addr+"/events?table=public.orders", "")
	wsc, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.Close()
	if err := wsc.WriteJSON(map[string]any{"type": "subscribe", "id": "us", "table": "public.orders", "filter": "region=eq.us", "snapshot": true}); err != nil {
		t.Fatal(err)
	}
	snap := openSSE(t, "http://"+addr+"/events?table=public.orders&filter=region=eq.eu&snapshot=true", "")
	var got []snapEvent
	completed := false
	for !completed {
		_, _, data := snap.next(t)
		var e snapEvent
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("not an event: %s", data)
		}
		got = append(got, e)
		completed = e.Op == "snapshot_completed"
	}
	stopWriter()
	wg.Wait()
	if _, err := cl.Psql(ctx, "", `INSERT INTO orders VALUES (-1, 0, 'eu')`); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, data := snap.next(t)
		var e snapEvent
		_ = json.Unmarshal([]byte(data), &e)
		got = append(got, e)
		if e.Op == "insert" && string(e.After["id"]) == "-1" {
			break
		}
	}
	m := newSnapReplica()
	for _, e := range got {
		m.apply(t, e)
	}
	db := sqlConn(t, cl)
	want := ordersTable(t, db)
	for k, v := range want {
		if !strings.Contains(v, `"region":"eu"`) {
			delete(want, k)
		}
	}
	sameRows(t, "the snapshot=true client", m.rows, want)
	// The WebSocket subscription converges to the other region.
	wm := newSnapReplica()
	for {
		var msg struct {
			Type  string    `json:"type"`
			Event snapEvent `json:"event"`
		}
		if err := wsc.ReadJSON(&msg); err != nil {
			t.Fatalf("websocket: %v", err)
		}
		if msg.Type != "event" {
			continue
		}
		wm.apply(t, msg.Event)
		if msg.Event.Op == "insert" && string(msg.Event.After["id"]) == "-2" {
			break
		}
		if msg.Event.Op == "snapshot_completed" {
			if _, err := cl.Psql(ctx, "", `INSERT INTO orders VALUES (-2, 0, 'us')`); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantUS := ordersTable(t, db)
	for k, v := range wantUS {
		if !strings.Contains(v, `"region":"us"`) {
			delete(wantUS, k)
		}
	}
	sameRows(t, "the WebSocket snapshot subscription", wm.rows, wantUS)
	if m.unordered > 0 {
		t.Errorf("%d events out of id order", m.unordered)
	}
	reads := 0
	for _, n := range m.reads {
		reads += n
	}
	if reads < rows/4 {
		t.Errorf("only %d reads", reads)
	}
	// The other client sees changes, never the first client's reads.
	for i := 0; i < 50; i++ {
		_, _, data := plain.next(t)
		if strings.Contains(data, `"op":"read"`) || strings.Contains(data, `"op":"snapshot_`) {
			t.Fatalf("a client without snapshot=true got %s", data)
		}
		if strings.Contains(data, `"id":-1`) {
			break
		}
	}
	// A bad value is a 400 naming the parameter.
	resp, err := http.Get("http://" + addr + "/events?snapshot=yes")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"param":"snapshot"`) {
		t.Fatalf("snapshot=yes: %s %s", resp.Status, body)
	}
	d.stop()
}
