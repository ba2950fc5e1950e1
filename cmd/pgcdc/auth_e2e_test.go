package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

const e2eSecret = "e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz"

func tenantToken(t *testing.T, tenant int, ttl time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": fmt.Sprintf("tenant-%d", tenant),
		"tenant_id": tenant, "aud": "pgcdc", "exp": time.Now().Add(ttl).Unix()}).SignedString([]byte(e2eSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// scopedEvent is what a scoped client may check of an event.
type scopedEvent struct {
	ID     string         `json:"id"`
	Op     string         `json:"op"`
	Table  string         `json:"table"`
	Key    map[string]any `json:"key"`
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
}

// step is one change as a tenant must see it: op and row id.
type step struct {
	op string
	id int
}

// tenantsTraffic runs inserts, in-place updates, updates that move rows
// between tenants 7 and 8, deletes, and changes of another table, and
// returns what each tenant must see, in order.
func tenantsTraffic(t *testing.T, cl *pgcluster.Cluster) map[int][]step {
	t.Helper()
	ctx := context.Background()
	want := map[int][]step{}
	owner := map[int]int{}
	exec := func(sql string) {
		t.Helper()
		if _, err := cl.Psql(ctx, "", sql); err != nil {
			t.Fatal(err)
		}
	}
	for id := 1; id <= 20; id++ {
		tenant := 7 + id%2
		exec(fmt.Sprintf(`INSERT INTO accounts VALUES (%d, %d, 'name-%d', 'SECRET-%d')`, id, tenant, id, id))
		owner[id] = tenant
		want[tenant] = append(want[tenant], step{"insert", id})
	}
	exec(`INSERT INTO audit VALUES (1, 'not for tenants')`)
	for id := 1; id <= 20; id += 3 {
		exec(fmt.Sprintf(`UPDATE accounts SET name = 'renamed-%d' WHERE id = %d`, id, id))
		want[owner[id]] = append(want[owner[id]], step{"update", id})
	}
	for _, id := range []int{1, 2, 5, 6} { // 7 -> 8 and 8 -> 7
		from := owner[id]
		to := 15 - from
		exec(fmt.Sprintf(`UPDATE accounts SET tenant_id = %d, name = 'moved-%d' WHERE id = %d`, to, id, id))
		owner[id] = to
		want[from] = append(want[from], step{"delete", id})
		want[to] = append(want[to], step{"insert", id})
	}
	for _, id := range []int{1, 3, 4, 10} {
		exec(fmt.Sprintf(`DELETE FROM accounts WHERE id = %d`, id))
		want[owner[id]] = append(want[owner[id]], step{"delete", id})
	}
	// A transaction with both tenants' rows in it.
	exec(`BEGIN; INSERT INTO accounts VALUES (30, 7, 'n', 'SECRET-30'), (31, 8, 'n', 'SECRET-31'); UPDATE accounts SET tenant_id = 7 WHERE id = 31; COMMIT`)
	want[7] = append(want[7], step{"insert", 30})
	want[8] = append(want[8], step{"insert", 31}, step{"delete", 31})
	want[7] = append(want[7], step{"insert", 31})
	return want
}

// checkScoped checks one event a client of tenant received: its own rows
// only, never the secret column, and returns its step.
func checkScoped(t *testing.T, who string, tenant int, data string) step {
	t.Helper()
	var e scopedEvent
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("%s: not an event: %s", who, data)
	}
	if e.Table != "accounts" || strings.Contains(data, "SECRET") || strings.Contains(data, `"secret"`) {
		t.Fatalf("%s (tenant %d): out of scope: %s", who, tenant, data)
	}
	for _, row := range []map[string]any{e.Key, e.Before, e.After} {
		if v, ok := row["tenant_id"]; ok && fmt.Sprint(v) != fmt.Sprint(tenant) {
			t.Fatalf("%s (tenant %d): another tenant's row: %s", who, tenant, data)
		}
	}
	id := e.Key["id"]
	var n int
	fmt.Sscan(fmt.Sprint(id), &n)
	return step{e.Op, n}
}

func sameSteps(got, want []step) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestAuthTenantsEndToEnd: tenants 7 and 8 over SSE, WebSocket, a resumed
// SSE stream and /api/changes, against mixed traffic (inserts, updates,
// deletes, updates that move rows between them, another table): each
// client gets every change of its own tenant, as it must see it (a row
// that moved away is a delete, one that moved in an insert), in order,
// and nothing of the other tenant, of the other table or of the denied
// column.
func TestAuthTenantsEndToEnd(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	// tenant_id is in the key and the old rows are whole, so that deletes
	// and moves are scoped on the old row's tenant.
	if _, err := cl.Psql(ctx, "", `CREATE TABLE accounts (id int, tenant_id int, name text, secret text, PRIMARY KEY (id, tenant_id));
ALTER TABLE accounts REPLICA IDENTITY FULL;
CREATE TABLE audit (id int PRIMARY KEY, note text)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`source: {dsn: %q, create: true}
server:
  listen: "127.0.0.1:0"
  auth:
    mode: jwt
    jwt: {secret: %q, audience: pgcdc}
    scope:
      tables: [public.accounts]
      filter: ["tenant_id=eq.{claims.tenant_id}"]
      columns: {public.accounts: {exclude: [secret]}}
sinks:
  - {name: live, type: sse, path: /events, heartbeat: 1s}
  - {name: ws, type: websocket, path: /ws}
`, cl.DSN(""), e2eSecret))
	d := startDaemon(t, "run", "-c", cfg)
	addr := d.serverAddr()
	d.waitLog("msg=streaming")
	if strings.Contains(d.stderr(), e2eSecret) {
		t.Fatal("the JWT secret is in the log")
	}

	type reader struct {
		name   string
		tenant int
		next   func() string // the next event's JSON
	}
	var readers []reader
	sseOf := func(tenant int, query, lastID string) *sseClient {
		req, _ := http.NewRequest("GET", "http://"+addr+"/events"+query, nil)
		req.Header.Set("Authorization", "Bearer "+tenantToken(t, tenant, time.Hour))
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("SSE tenant %d: %v %v", tenant, resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return &sseClient{resp: resp, r: newBufReader(resp.Body)}
	}
	wsOf := func(tenant int) *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		c.WriteJSON(map[string]string{"type": "auth", "token": tenantToken(t, tenant, time.Hour)})
		c.WriteJSON(map[string]any{"type": "subscribe", "id": "s", "table": "public.accounts"})
		for _, want := range []string{"authenticated", "subscribed"} {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil || m["type"] != want {
				t.Fatalf("ws tenant %d: %v %v, want %s", tenant, m, err, want)
			}
		}
		return c
	}
	var resumeIDs sync.Map
	for _, tenant := range []int{7, 8} {
		s := sseOf(tenant, "", "")
		readers = append(readers, reader{fmt.Sprintf("sse %d", tenant), tenant, func() string { _, _, data := s.next(t); return data }})
		w := wsOf(tenant)
		readers = append(readers, reader{fmt.Sprintf("websocket %d", tenant), tenant, func() string {
			var m struct {
				Type  string
				Event json.RawMessage
			}
			if err := w.ReadJSON(&m); err != nil || m.Type != "event" {
				t.Fatalf("websocket %d: %v %v", tenant, m, err)
			}
			return string(m.Event)
		}})
		// The resumed stream: its first 5 events, then a new connection
		// from the last id.
		r := sseOf(tenant, "?table=public.accounts", "")
		n := 0
		readers = append(readers, reader{fmt.Sprintf("resumed sse %d", tenant), tenant, func() string {
			if n == 5 {
				r.resp.Body.Close()
				last, _ := resumeIDs.Load(tenant)
				r = sseOf(tenant, "?table=public.accounts", last.(string))
			}
			n++
			_, id, data := r.next(t)
			resumeIDs.Store(tenant, id)
			return data
		}})
	}

	want := tenantsTraffic(t, cl)
	for _, r := range readers {
		var got []step
		for range want[r.tenant] {
			got = append(got, checkScoped(t, r.name, r.tenant, r.next()))
		}
		if !sameSteps(got, want[r.tenant]) {
			t.Errorf("%s: got %v\nwant %v", r.name, got, want[r.tenant])
		}
	}
	for _, tenant := range []int{7, 8} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/changes?limit=1000", nil)
		req.Header.Set("Authorization", "Bearer "+tenantToken(t, tenant, time.Hour))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var page struct{ Events []json.RawMessage }
		if err := json.Unmarshal(body, &page); resp.StatusCode != 200 || err != nil {
			t.Fatalf("/api/changes tenant %d: %d %s", tenant, resp.StatusCode, body)
		}
		var got []step
		for _, e := range page.Events {
			got = append(got, checkScoped(t, "/api/changes", tenant, string(e)))
		}
		if !sameSteps(got, want[tenant]) {
			t.Errorf("/api/changes tenant %d: got %v\nwant %v", tenant, got, want[tenant])
		}
	}
	// A table outside the scope: 403 naming it; no token: 401.
	req, _ := http.NewRequest("GET", "http://"+addr+"/events?table=public.audit", nil)
	req.Header.Set("Authorization", "Bearer "+tenantToken(t, 7, time.Hour))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("SSE for public.audit: %v %v, want 403", resp, err)
	}
	if resp, err := http.Get("http://" + addr + "/events"); err != nil || resp.StatusCode != 401 {
		t.Errorf("SSE without a token: %v %v, want 401", resp, err)
	}
	if strings.Contains(d.stderr(), "SECRET-") {
		t.Error("a denied column's value is in the log")
	}
}

// TestAuthStartupChecks: pgcdc refuses to serve the live endpoints beyond
// loopback without auth unless mode none is written (or set by
// PGCDC_SERVER_AUTH_MODE); a forced filter on a column the old rows do
// not carry is refused at startup with the ALTER TABLE that fixes it.
func TestAuthStartupChecks(t *testing.T) {
	open := writeConfig(t, `source: {dsn: "postgres://x@127.0.0.1:1/x"}
server: {listen: "0.0.0.0:0"}
sinks: [{name: live, type: sse}]
`)
	out, code := runPgcdc(t, nil, "validate", "-c", open)
	if code == 0 || !strings.Contains(out, "server.auth") || !strings.Contains(out, "mode: none") {
		t.Fatalf("validate of a 0.0.0.0 listen without auth: exit %d\n%s", code, out)
	}
	if out, code := runPgcdc(t, []string{"PGCDC_SERVER_AUTH_MODE=none"}, "validate", "-c", open); code != 0 {
		t.Fatalf("with PGCDC_SERVER_AUTH_MODE=none: exit %d\n%s", code, out)
	}
	explicit := writeConfig(t, `source: {dsn: "postgres://x@127.0.0.1:1/x"}
server: {listen: "0.0.0.0:0", auth: {mode: none}}
sinks: [{name: live, type: sse}]
`)
	if out, code := runPgcdc(t, nil, "validate", "-c", explicit); code != 0 {
		t.Fatalf("with auth: {mode: none}: exit %d\n%s", code, out)
	}

	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE TABLE accounts (id int PRIMARY KEY, tenant_id int, name text)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`source: {dsn: %q, create: true}
server:
  listen: "127.0.0.1:0"
  auth: {mode: jwt, jwt: {secret: %q}, scope: {filter: ["tenant_id=eq.{claims.tenant_id}"]}}
sinks: [{name: live, type: sse}]
`, cl.DSN(""), e2eSecret))
	out, code = runPgcdc(t, nil, "run", "-c", cfg)
	if code == 0 || !strings.Contains(out, `ALTER TABLE "public"."accounts" REPLICA IDENTITY FULL`) {
		t.Fatalf("run with a forced filter on a non-key column: exit %d\n%s", code, out)
	}
}

// runPgcdc runs pgcdc with env added and returns its stdout and stderr
// together, and its exit code.
func runPgcdc(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	code, stdout, stderr := runIn(t, t.TempDir(), env, args...)
	return stdout + stderr, code
}

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
