package source

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

func findingOf(fs []Finding, check string) (Finding, bool) {
	for _, f := range fs {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}

// TestNonSuperuser: the quick start for a role that is not a superuser
// (the only kind on managed databases). "public.*" becomes FOR TABLE with
// the tables that exist (FOR TABLES IN SCHEMA needs a superuser), check
// names the privileges that are missing instead of a circular fix, a
// second publication create adds the tables created since, quoted names
// in source.tables resolve, and run streams.
func TestNonSuperuser(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE ROLE app LOGIN PASSWORD 'app-pw' REPLICATION;
CREATE TABLE public.mine (id int PRIMARY KEY); ALTER TABLE public.mine OWNER TO app;
CREATE TABLE public.theirs (id int PRIMARY KEY);
CREATE TABLE public.parted (k int PRIMARY KEY) PARTITION BY LIST (k);
CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES IN (1);
ALTER TABLE public.parted OWNER TO app; ALTER TABLE public.parted_1 OWNER TO app;
CREATE SCHEMA "we.ird" AUTHORIZATION app; CREATE TABLE "we.ird".orders (id int PRIMARY KEY); ALTER TABLE "we.ird".orders OWNER TO app`)
	ctx := context.Background()
	conn, db := connectSQL(t, cl.UserDSN("app", "app-pw", ""))
	cfg := Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"public.*", `"we.ird".orders`}, ConfigPath: "/etc/my pgcdc.yaml"}
	pubFinding := func() Finding {
		t.Helper()
		fs, err := Preflight(ctx, db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := findingOf(fs, "publication")
		return f
	}

	// Not the owner of public.theirs, no CREATE on the database: both named.
	f := pubFinding()
	for _, want := range []string{`role "app" lacks CREATE on database "postgres"`, `GRANT CREATE ON DATABASE "postgres" TO "app"`,
		`does not own public.theirs`, `ALTER TABLE public.theirs OWNER TO "app"`} {
		if f.Severity != SevError || !strings.Contains(f.Detail, want) {
			t.Errorf("check lacks %q:\n%s", want, f.Detail)
		}
	}
	if !strings.Contains(f.Fix, `pgcdc publication create --print-sql -c '/etc/my pgcdc.yaml'`) {
		t.Errorf("fix does not point to --print-sql with the config path: %s", f.Fix)
	}
	if _, err := CreatePublication(ctx, db, cfg.Publication, cfg.Tables); err == nil || !strings.Contains(err.Error(), "does not own public.theirs") {
		t.Fatalf("CreatePublication without the privileges: %v", err)
	}
	mustPsql(t, cl, `GRANT CREATE ON DATABASE postgres TO app; ALTER TABLE public.theirs OWNER TO app`)

	// Now run could create it (create: true is not an error), or the command.
	cfg.Create = true
	if f := pubFinding(); f.Severity != SevOK || !strings.Contains(f.Detail, "pgcdc run creates it") {
		t.Errorf("with create: true: %+v", f)
	}
	cfg.Create = false
	if f := pubFinding(); f.Severity != SevError || !strings.Contains(f.Fix, `pgcdc publication create -c '/etc/my pgcdc.yaml'`) {
		t.Errorf("missing publication: %+v", f)
	}

	plan, err := CreatePublication(ctx, db, cfg.Publication, cfg.Tables)
	if err != nil {
		t.Fatal(err)
	}
	wantTables := []string{"public.mine", "public.parted", "public.theirs", `"we.ird".orders`}
	if !plan.ByName || !slices.Equal(plan.Tables, wantTables) || !strings.HasPrefix(plan.Statements[0], `CREATE PUBLICATION "pgcdc" FOR TABLE `) {
		t.Fatalf("plan %+v, want FOR TABLE %v (partitions through their parent)", plan, wantTables)
	}

	// A table created later: check warns, publication create adds it.
	mustPsql(t, cl, `CREATE TABLE public.later (id int PRIMARY KEY); ALTER TABLE public.later OWNER TO app`)
	fs, err := Preflight(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := findingOf(fs, "publication tables"); !ok || f.Severity != SevWarn || !strings.Contains(f.Detail, "public.later") {
		t.Errorf("check does not warn about the unpublished public.later: %+v", fs)
	}
	if plan, err = CreatePublication(ctx, db, cfg.Publication, cfg.Tables); err != nil {
		t.Fatal(err)
	}
	if len(plan.Statements) != 1 || plan.Statements[0] != `ALTER PUBLICATION "pgcdc" ADD TABLE public.later` {
		t.Errorf("second publication create: %v", plan.Statements)
	}
	if plan, err = CreatePublication(ctx, db, cfg.Publication, cfg.Tables); err != nil || len(plan.Statements) != 0 {
		t.Errorf("third publication create: %v, %v", plan.Statements, err)
	}

	// run as app: creates the slot, streams.
	cfg.Create = true
	src := New(conn, cfg, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	col := runSource(t, src)
	mustPsql(t, cl, `INSERT INTO public.later VALUES (1); INSERT INTO "we.ird".orders VALUES (2); INSERT INTO public.parted VALUES (1)`)
	evs := col.wait(t, 3)
	if evs[0].Table != "later" || evs[1].Schema != "we.ird" || evs[2].Table != "parted_1" {
		t.Errorf("events: %s %s %s", evs[0].Encoded(), evs[1].Encoded(), evs[2].Encoded())
	}
}

// TestPreflightViaRoot: with publish_via_partition_root a TRUNCATE of one
// partition produces no event; check says so.
func TestPreflightViaRoot(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE parted (k int PRIMARY KEY) PARTITION BY LIST (k);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES IN (1);
CREATE PUBLICATION pgcdc FOR TABLE parted WITH (publish_via_partition_root = true)`)
	_, db := connectSQL(t, cl.DSN(""))
	fs, err := Preflight(context.Background(), db, Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"public.parted"}})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := findingOf(fs, "publish_via_partition_root")
	if !ok || f.Severity != SevWarn || !strings.Contains(f.Detail, "TRUNCATE of a single partition produces no event") {
		t.Errorf("no warning about publish_via_partition_root: %+v", fs)
	}
	if f, ok := findingOf(fs, "publication tables"); ok {
		t.Errorf("a partitioned table published through its root counts as missing: %+v", f)
	}
}
