package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// TestFilterTypoStopsRun: a filter or projection that does not fit the
// published tables would silently drop changes while the slot advances;
// run and check refuse it with the column, the table and what was
// expected.
func TestFilterTypoStopsRun(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE TABLE orders (id int PRIMARY KEY, price numeric, status text);
CREATE TABLE users (id int PRIMARY KEY, name text)`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		extra string // replaces the sinks section
		want  []string
	}{
		{"typo in a global filter", `transforms: [{filter: {where: ["pricee=gt.10"]}}]
sinks: [{name: out, type: stdout}]`,
			[]string{`transforms[0].filter.where[0]: unknown column "pricee" in public.orders, public.users`}},
		{"value of the wrong type in a sink filter", `sinks:
  - {name: out, type: stdout, filter: {tables: [public.orders], where: ["price=gt.abc"]}}`,
			[]string{`sinks[0].filter.where[0]: filter "price=gt.abc": type mismatch: "abc" is not a number, but column "price" of public.orders is numeric`}},
		{"projection of a table that is not published", `transforms: [{project: {tables: [public.accounts], exclude: [password_hash]}}]
sinks: [{name: out, type: stdout}]`,
			[]string{`transforms[0].project.tables[0]: table "public.accounts" is not published; published: public.orders, public.users`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(mustRead(t, stdoutConfig(t, cl, "")), "sinks:\n  - {name: out, type: stdout}\n", tt.extra+"\n", 1)
			path := writeConfig(t, body)
			code, out := runOnce(t, "run", "-c", path)
			expectFailure(t, code, out, exitConfig, tt.want...)
			// The failed run dropped the publication it created; check
			// compares the filters with a publication that exists.
			if code, out := runOnce(t, "publication", "create", "-c", path); code != 0 {
				t.Fatalf("publication create: %s", out)
			}
			code, out = runOnce(t, "check", "-c", path)
			if code != exitError {
				t.Errorf("check exit code %d, want %d:\n%s", code, exitError, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, "ERROR filters: "+w) {
					t.Errorf("check output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestSchemaChangeStopsBeforeDropping: a column renamed under a running
// filter would make the filter drop every later change of the table while
// the slot advances. pgcdc stops at the relation message, before the first
// such change, and after the config is fixed that change is delivered:
// nothing was skipped.
func TestSchemaChangeStopsBeforeDropping(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", `CREATE TABLE orders (id int PRIMARY KEY, price numeric)`); err != nil {
		t.Fatal(err)
	}
	withFilter := func(where string) string {
		return stdoutConfig(t, cl, `transforms: [{filter: {where: ["`+where+`"]}}]`)
	}
	d := startDaemon(t, "run", "-c", withFilter("price=gt.10"))
	d.waitLog("msg=streaming")
	if _, err := cl.Psql(ctx, "", `INSERT INTO orders VALUES (1, 20), (100, 5)`); err != nil {
		t.Fatal(err)
	}
	d.waitLines(1, time.Minute)
	if _, err := cl.Psql(ctx, "", `ALTER TABLE orders RENAME COLUMN price TO cost; INSERT INTO orders VALUES (2, 30)`); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, d, time.Minute); code != exitConfig {
		t.Fatalf("pgcdc exited %d after the rename, want %d", code, exitConfig)
	}
	if logs := d.stderr(); !strings.Contains(logs, `after a schema change`) || !strings.Contains(logs, `unknown column "price" in public.orders`) {
		t.Fatalf("the error does not name the column and table:\n%s", logs)
	}
	if got := d.lines(); len(got) != 1 || !strings.Contains(got[0], `"id":1`) {
		t.Fatalf("before the rename the sink got %q, want only order 1", got)
	}
	// Fixed: the change after the rename is delivered.
	fixed := startDaemon(t, "run", "-c", withFilter("cost=gt.10"))
	fixed.waitFor("order 2", time.Minute, func(out, _ []string) bool {
		for _, l := range out {
			if strings.Contains(l, `"id":2`) {
				return true
			}
		}
		return false
	})
	fixed.stop()
	for _, l := range fixed.lines() {
		if strings.Contains(l, `"id":100`) {
			t.Errorf("the filter let order 100 through: %s", l)
		}
	}
}
