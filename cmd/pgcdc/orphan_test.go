package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// TestCrashBeforeStreamingLeavesNoSlot: a run with create: true that
// fails after creating the slot but before streaming (here: its HTTP
// port is taken) drops the slot and publication again instead of leaving
// an inactive slot that retains WAL forever.
func TestCrashBeforeStreamingLeavesNoSlot(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", `CREATE TABLE t (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := writeConfig(t, fmt.Sprintf("source: {dsn: %q, create: true}\nserver: {listen: %q}\nsinks: [{name: a, type: stdout}]\n",
		cl.DSN(""), taken.Addr().String()))
	code, out := runOnce(t, "run", "-c", cfg)
	expectFailure(t, code, out, exitError, "server.listen")
	left, err := cl.Psql(ctx, "", `SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' || (SELECT count(*) FROM pg_publication)`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(left) != "0 0" {
		t.Errorf("after a run that failed before streaming, %s slot(s) and publication(s) are left, want 0 0:\n%s", strings.TrimSpace(left), out)
	}
}
