package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// TestCrashBeforeStreamingLeavesNoSlot: a run with create: true that
// fails after creating the slot but before streaming (here: a filter
// names a column the published table lacks, which only the catalog tells)
// drops the slot and publication again instead of leaving an inactive
// slot that retains WAL forever.
func TestCrashBeforeStreamingLeavesNoSlot(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", `CREATE TABLE t (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`source: {dsn: %q, create: true}
transforms: [{filter: {tables: ["public.t"], where: ["nosuch=eq.1"]}}]
sinks: [{name: a, type: stdout}]
`, cl.DSN("")))
	code, out := runOnce(t, "run", "-c", cfg)
	expectFailure(t, code, out, exitConfig, "nosuch")
	if !strings.Contains(out, "created replication slot") {
		t.Fatalf("the run failed before creating the slot, which tests nothing:\n%s", out)
	}
	left, err := cl.Psql(ctx, "", `SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' || (SELECT count(*) FROM pg_publication)`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(left) != "0 0" {
		t.Errorf("after a run that failed before streaming, %s slot(s) and publication(s) are left, want 0 0:\n%s", strings.TrimSpace(left), out)
	}
}
