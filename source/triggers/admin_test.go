package triggers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// pgcdcObjects lists what pgcdc may have left in the database.
const pgcdcObjects = `SELECT
  (SELECT count(*) FROM pg_namespace WHERE nspname = 'pgcdc') +
  (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgcdc\_%') +
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgcdc') +
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgcdc')`

// TestInstallUninstallStatus: install and uninstall are idempotent, an
// ordinary role with CREATE on the database and TRIGGER on the tables can
// install, uninstall refuses to drop undelivered changes, and after it
// nothing of pgcdc is left.
func TestInstallUninstallStatus(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
CREATE TABLE p (id int, k int) PARTITION BY RANGE (k); CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE SCHEMA other; CREATE TABLE other.c (id int);
CREATE ROLE app LOGIN PASSWORD 'app'; GRANT CREATE ON DATABASE postgres TO app;
GRANT TRIGGER ON a, b, p, p1 TO app;
CREATE ROLE writer LOGIN PASSWORD 'w'; GRANT INSERT, UPDATE ON a, p TO writer;`)
	ctx := context.Background()
	appConn, err := pgx.Connect(ctx, cl.UserDSN("app", "app", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer appConn.Close(ctx)
	o := Objects{}
	for i := 0; i < 2; i++ {
		tables, _, err := o.Install(ctx, appConn, []string{"public.*"}, true)
		if err != nil {
			t.Fatalf("install %d as a role with only TRIGGER on the tables: %v", i+1, err)
		}
		if got := len(tables); got != 3 {
			t.Fatalf("install %d: %d tables (%v), want a, b, p (not the partition, not other.c)", i+1, got, tables)
		}
	}
	st, err := o.Status(ctx, appConn, []string{"public.*", "other.*"})
	if err != nil {
		t.Fatal(err)
	}
	captured := map[string]bool{}
	for _, ts := range st.Tables {
		captured[ts.Table.String()] = ts.Captured() && ts.Wake == "enabled"
	}
	if !captured["public.a"] || !captured["public.p"] || captured["other.c"] || !st.Installed || st.Rows != 0 {
		t.Fatalf("status: %+v", st)
	}
	// The application's writes (through the partition's cloned trigger
	// too) reach the outbox, though its role has no privilege on it.
	writer, err := pgx.Connect(ctx, cl.UserDSN("writer", "w", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	if _, err := writer.Exec(ctx, `INSERT INTO a VALUES (1); INSERT INTO p VALUES (1, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, `SELECT * FROM pgcdc.outbox`); err == nil {
		t.Fatal("the writing role can read the outbox: want the trigger (SECURITY DEFINER) to be the only way in")
	}
	if got := mustPsql(t, cl, `SELECT string_agg(table_name, ',' ORDER BY id) FROM pgcdc.outbox`); got != "a,p1" {
		t.Fatalf("outbox tables %q, want a,p1", got)
	}
	if st, _ = o.Status(ctx, appConn, []string{"public.*"}); st.Rows != 2 || st.Transactions != 1 {
		t.Fatalf("status backlog: %d rows in %d transactions, want 2 in 1", st.Rows, st.Transactions)
	}
	// Uninstall refuses to drop undelivered rows, and dropping triggers
	// needs the tables' owner.
	if _, _, err := o.Uninstall(ctx, appConn, false); !errors.Is(err, ErrBacklog) {
		t.Fatalf("uninstall with a backlog: %v, want ErrBacklog", err)
	}
	if _, _, err := o.Uninstall(ctx, appConn, true); err == nil || !strings.Contains(err.Error(), "ownership") {
		t.Fatalf("uninstall by a role that does not own the tables: %v, want the ownership hint", err)
	}
	owner := connect(t, cl)
	for i := 0; i < 2; i++ {
		if _, _, err := o.Uninstall(ctx, owner, true); err != nil {
			t.Fatalf("uninstall %d: %v", i+1, err)
		}
	}
	if got := mustPsql(t, cl, pgcdcObjects); got != "0" {
		t.Fatalf("%s objects of pgcdc left after uninstall", got)
	}
	if st, err = o.Status(ctx, owner, []string{"public.*"}); err != nil || st.Installed {
		t.Fatalf("status after uninstall: %+v, %v", st, err)
	}
}
