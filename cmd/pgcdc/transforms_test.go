package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// TestTransformsFromConfig: the config's filter (tables, ops, row filter
// compared numerically on a numeric column) and projection shape what a
// sink receives; a sink's own filter narrows it further.
func TestTransformsFromConfig(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE TABLE orders (id int PRIMARY KEY, total numeric, status text, secret text);
CREATE TABLE users (id int PRIMARY KEY, name text);
CREATE TABLE audit_log (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	cfg := stdoutConfig(t, cl, `transforms:
  - filter: {tables: ["public.*"], exclude_tables: ["public.audit_*"], ops: [insert, update, delete]}
  - project: {tables: ["public.orders"], exclude: [secret]}
`)
	// The stdout sink also filters on its own: only orders above 100, and
	// users.
	cfg = strings.Replace(mustRead(t, cfg), "  - {name: out, type: stdout}", `  - name: out
    type: stdout
    filter: {where: ["total=gt.100"], tables: ["public.orders"]}`, 1)
	cfgPath := writeConfig(t, cfg)
	d := startDaemon(t, "run", "-c", cfgPath)
	d.waitLog("msg=streaming")
	if _, err := cl.Psql(context.Background(), "", `INSERT INTO orders VALUES (1, 99.5, 'new', 's'), (2, 100.01, 'new', 's'), (3, 1e3, 'new', 's');
INSERT INTO users VALUES (1, 'ada');
INSERT INTO audit_log VALUES (1);
UPDATE orders SET status = 'paid' WHERE id = 3;
TRUNCATE audit_log;
INSERT INTO orders VALUES (4, 5000, 'last', 's')`); err != nil {
		t.Fatal(err)
	}
	d.waitFor("order 4", time.Minute, func(out, _ []string) bool {
		return len(out) > 0 && strings.Contains(out[len(out)-1], `"id":4`)
	})
	d.stop()
	var got []string
	for _, e := range parseEvents(t, d.lines()) {
		got = append(got, e.Op+" "+e.Table+" "+strings.TrimSpace(jsonOf(e.After["id"])))
		if _, ok := e.After["secret"]; ok {
			t.Errorf("projected-out column reached the sink: %v", e.After)
		}
	}
	want := "insert orders 2|insert orders 3|update orders 3|insert orders 4"
	if strings.Join(got, "|") != want {
		t.Fatalf("sink got %q\nwant        %q", strings.Join(got, "|"), want)
	}
}
