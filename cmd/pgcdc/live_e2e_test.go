package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/sinks/live/livetest"
)

var listenRE = regexp.MustCompile(`msg="http server listening" (?:.* )?addr=(\S+)`)

// serverAddr waits for the daemon's listening log line.
func (d *daemon) serverAddr() string {
	d.t.Helper()
	d.waitLog(`msg="http server listening"`)
	m := listenRE.FindStringSubmatch(d.stderr())
	if m == nil {
		d.t.Fatalf("no listen address in the log:\n%s", d.stderr())
	}
	return m[1]
}

// sseClient reads an SSE stream with a raw HTTP client.
type sseClient struct {
	resp *http.Response
	r    *bufio.Reader
}

func openSSE(t *testing.T, url, lastID string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseClient{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the next message's event name, id and data, skipping
// comments and the retry hint.
func (c *sseClient) next(t *testing.T) (event, id, data string) {
	t.Helper()
	return livetest.NextSSE(t, c.r)
}

func TestLiveSinksEndToEnd(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", `CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric, note text);
CREATE TABLE users (id int PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`source: {dsn: %q, create: true}
server: {listen: "127.0.0.1:0"}
sinks:
  - {name: live, type: sse, path: /events, heartbeat: 1s}
  - {name: ws, type: websocket, path: /ws}
`, cl.DSN("")))
	d := startDaemon(t, "run", "-c", cfg)
	addr := d.serverAddr()
	d.waitLog("msg=streaming")
	if resp, err := http.Get("http://" + addr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v", resp, err)
	}

	wsConn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsConn.Close()
	_ = wsConn.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := wsConn.WriteJSON(map[string]any{"type": "subscribe", "id": "big", "table": []string{"public.orders"},
		"op": []string{"insert"}, "filter": []string{"total=gte.100"}, "select": []string{"id", "total"}}); err != nil {
		t.Fatal(err)
	}
	var msg map[string]any
	if err := wsConn.ReadJSON(&msg); err != nil || msg["type"] != "subscribed" {
		t.Fatalf("subscribe answer: %v %v", msg, err)
	}

	stream := openSSE(t, "http://"+addr+"/events?table=public.orders", "")
	exec := func(sql string) {
		t.Helper()
		if _, err := cl.Psql(ctx, "", sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO orders VALUES (1, 'new', 50, 'a'), (2, 'new', 150, 'b'); INSERT INTO users VALUES (1, 'ada')`)
	_, id1, _ := stream.next(t)
	_, id2, data2 := stream.next(t)
	if !strings.Contains(data2, `"id":2`) {
		t.Fatalf("second SSE event: %s", data2)
	}
	stream.resp.Body.Close()

	// While the SSE client is away, N changes happen.
	exec(`UPDATE orders SET status = 'paid' WHERE id = 1; INSERT INTO orders VALUES (3, 'new', 1000, 'c'); DELETE FROM orders WHERE id = 2; INSERT INTO users VALUES (2, 'bob')`)
	resumed := openSSE(t, "http://"+addr+"/events?table=public.orders", id2)
	var ops []string
	for range 3 {
		_, id, data := resumed.next(t)
		var e event
		if err := json.Unmarshal([]byte(data), &e); err != nil || e.ID != id {
			t.Fatalf("bad SSE message id=%s data=%s: %v", id, data, err)
		}
		if id <= id2 {
			t.Fatalf("resume replayed %s, not after %s", id, id2)
		}
		ops = append(ops, e.Op+" "+jsonOf(e.After["id"]))
	}
	if got := strings.Join(ops, ","); got != "update 1,insert 3,delete null" {
		t.Fatalf("resumed events %q, want exactly the three missed order changes in order", got)
	}
	// Resuming from the first id gets everything after it, in order.
	again := openSSE(t, "http://"+addr+"/events?table=public.orders", id1)
	if _, id, _ := again.next(t); id != id2 {
		t.Fatalf("resume from %s started at %s, want %s", id1, id, id2)
	}

	// The WebSocket subscription saw only big order inserts, projected.
	var got []string
	for len(got) < 2 {
		if err := wsConn.ReadJSON(&msg); err != nil {
			t.Fatalf("websocket: %v", err)
		}
		if msg["type"] != "event" || msg["sub"] != "big" {
			t.Fatalf("unexpected websocket message %v", msg)
		}
		ev := msg["event"].(map[string]any)
		got = append(got, jsonOf(ev["after"]))
	}
	if strings.Join(got, " ") != `{"id":2,"total":"150"} {"id":3,"total":"1000"}` {
		t.Fatalf("websocket events: %v", got)
	}

	// A bad subscription is a 400 naming the parameter.
	resp, err := http.Get("http://" + addr + "/events?table=public.nope")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 {
		t.Fatalf("unknown table: %s", resp.Status)
	}
	d.stop()
}

// TestLiveCatalogFollowsThePublication: a table added to the publication
// is known to live clients before its first change (EventSource never
// retries a 400), and a dropped table's name is refused instead of
// answering a stream that stays empty forever.
func TestLiveCatalogFollowsThePublication(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE gone (id int PRIMARY KEY);
CREATE PUBLICATION pgcdc FOR TABLE a, gone`); err != nil {
		t.Fatal(err)
	}
	cfg := stdoutConfig(t, cl, "")
	cfg = writeConfig(t, strings.Replace(mustRead(t, cfg), "  - {name: out, type: stdout}", "  - {name: out, type: stdout}\n  - {name: live, type: sse}", 1))
	d := startDaemon(t, "run", "-c", cfg)
	addr := d.serverAddr()
	d.waitLog("msg=streaming")
	status := func(query string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/events?"+query, nil)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(cctx))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("table=public.newt"); got != http.StatusBadRequest {
		t.Fatalf("a table that does not exist: %d, want 400", got)
	}
	if _, err := cl.Psql(ctx, "", `CREATE TABLE newt (id int PRIMARY KEY, note text); ALTER PUBLICATION pgcdc ADD TABLE newt`); err != nil {
		t.Fatal(err)
	}
	// Known before its first change, with its columns.
	sse := openSSE(t, "http://"+addr+"/events?table=public.newt&filter=note=eq.hello", "")
	if _, err := cl.Psql(ctx, "", `INSERT INTO newt VALUES (1, 'hello')`); err != nil {
		t.Fatal(err)
	}
	if _, _, data := sse.next(t); !strings.Contains(data, `"table":"newt"`) || !strings.Contains(data, `"note":"hello"`) {
		t.Fatalf("first event of the added table: %s", data)
	}
	if _, err := cl.Psql(ctx, "", `ALTER PUBLICATION pgcdc DROP TABLE gone; DROP TABLE gone`); err != nil {
		t.Fatal(err)
	}
	// The catalog refreshes at most once a second; a dropped table is
	// refused once it has.
	deadline := time.Now().Add(30 * time.Second)
	for status("table=public.gone") != http.StatusBadRequest {
		if time.Now().After(deadline) {
			t.Fatal("a dropped table is still accepted after 30 s")
		}
		time.Sleep(200 * time.Millisecond) // polling the server's answer; nothing to wait on
	}
}
