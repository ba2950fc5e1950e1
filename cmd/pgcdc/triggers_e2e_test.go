package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// triggersConfig streams the public tables through the trigger source.
func triggersConfig(t *testing.T, cl *pgcluster.Cluster) string {
	return writeConfig(t, fmt.Sprintf(`source:
  type: triggers
  dsn: %q
  tables: ["public.*"]
  status_interval: 1s
  reconnect: {initial: 100ms, max: 1s}
  triggers: {poll_interval: 200ms}
server: {listen: "127.0.0.1:0"}
sinks:
  - {name: out, type: stdout}
log: {level: info}
`, cl.DSN("")))
}

// TestTriggersKillAndTerminate SIGKILLs pgcdc (source.type triggers) in
// the middle of a workload, restarts it, terminates its connection with
// pg_terminate_backend, and counts primary keys: every row arrives, in
// order within each run, and only the unacknowledged tail of the killed
// run comes twice.
func TestTriggersKillAndTerminate(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	cfg := triggersConfig(t, cl)
	if code, out := runOnce(t, "triggers", "install", "-c", cfg); code != 0 || !strings.Contains(out, "public.items") {
		t.Fatalf("triggers install: exit %d: %s", code, out)
	}
	d1 := startDaemon(t, "run", "-c", cfg)
	d1.waitLog("msg=streaming")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workDone := make(chan error, 1)
	go func() { workDone <- workload(ctx, cl, nil) }()
	d1.waitLines(workRows/3, 2*time.Minute)
	d1.kill()
	run1 := d1.lines()

	d2 := startDaemon(t, "run", "-c", cfg)
	d2.waitLog("msg=streaming")
	d2.waitLines(1, time.Minute)
	if out, err := cl.Psql(ctx, "", `SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted`); err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("terminate the relay's connection: %v %q", err, out)
	}
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	d2.waitFor("the last row", 2*time.Minute, func(out, _ []string) bool {
		return len(out) > 0 && strings.Contains(out[len(out)-1], fmt.Sprintf(`"id":"%d"`, workRows))
	})
	d2.waitLog("outbox connection lost; reconnecting")
	d2.stop()
	dups := checkDelivery(t, run1, d2.lines())
	t.Logf("SIGKILL after %d events, then pg_terminate_backend: all %d rows delivered in order; %d twice (the unacknowledged tail)", len(run1), workRows, dups)
	if dups > len(run1) {
		t.Fatalf("%d duplicates, more than the first run delivered (%d)", dups, len(run1))
	}
	// After the graceful stop the outbox is empty.
	if out, _ := cl.Psql(ctx, "", `SELECT count(*) FROM pgcdc.outbox`); strings.TrimSpace(out) != "0" {
		t.Fatalf("outbox after a graceful stop holds %s rows", out)
	}
	if code, out := runOnce(t, "triggers", "status", "-c", cfg); code != 0 || !strings.Contains(out, "0 row(s)") {
		t.Fatalf("triggers status: exit %d: %s", code, out)
	}
}

// TestListenToSSE: existing seed-style triggers that pg_notify
// row_to_json(NEW) are streamed to an SSE client by source.type listen,
// with the payload mapped by source.listen.fields and values typed by the
// catalog; a lost connection is reported (log line, metric), not hidden.
func TestListenToSSE(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, note text);
CREATE FUNCTION notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('table_changes', json_build_object('table', TG_TABLE_NAME, 'action', TG_OP,
    'data', row_to_json(COALESCE(NEW, OLD)))::text);
  RETURN NULL;
END $$;
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION notify_change();`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`source:
  type: listen
  dsn: %q
  reconnect: {initial: 100ms, max: 500ms}
  listen:
    channels: [table_changes]
    fields: {table: table, op: action, row: data}
server: {listen: "127.0.0.1:0"}
sinks:
  - {name: live, type: sse}
log: {level: info}
`, cl.DSN("")))
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLog(`msg="http server listening"`)
	m := regexp.MustCompile(`msg="http server listening".* addr=(\S+)`).FindStringSubmatch(d.stderr())
	if m == nil {
		t.Fatalf("no listen address in the log:\n%s", d.stderr())
	}
	addr := m[1]
	d.waitLog("at-most-once")
	sse := openSSE(t, "http://"+addr+"/events", "")
	if _, err := cl.Psql(context.Background(), "", `INSERT INTO orders VALUES (9007199254740993, 12345678901234567890.5, 'a');
SELECT pg_notify('table_changes', 'not json')`); err != nil {
		t.Fatal(err)
	}
	_, id, data := sse.next(t)
	if !strings.Contains(data, `"op":"insert"`) || !strings.Contains(data, `"after":{"id":"9007199254740993","total":"12345678901234567890.5","note":"a"}`) ||
		!strings.Contains(data, `"key":{"id":"9007199254740993"}`) || id == "" {
		t.Fatalf("SSE event id %q: %s", id, data)
	}
	d.waitLog("notification skipped")
	// Kill the LISTEN connection: the gap is logged and counted.
	if _, err := cl.Psql(context.Background(), "", `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	d.waitLog("listening again: notifications of the gap are lost")
	if _, err := cl.Psql(context.Background(), "", `DELETE FROM orders`); err != nil {
		t.Fatal(err)
	}
	_, id2, data := sse.next(t)
	if !strings.Contains(data, `"op":"delete"`) || !strings.Contains(data, `"before":{"id":"9007199254740993"`) || id2 <= id {
		t.Fatalf("SSE event after the reconnect, id %q after %q: %s", id2, id, data)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"pgcdc_listen_gaps_total 1", "pgcdc_listen_bad_payloads_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	d.stop()
}
