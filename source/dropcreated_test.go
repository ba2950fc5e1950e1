package source

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// TestDropCreated: what Prepare created is dropped again when the run
// fails before streaming (a failed first run with create: true used to
// leave an inactive slot that retains WAL forever), and kept once
// streaming started (the slot then holds undelivered changes).
func TestDropCreated(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"max_replication_slots": "1"}})
	ctx := context.Background()
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY)`)
	mustPsql(t, cl, `SELECT pg_create_logical_replication_slot('other', 'pgoutput')`)
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"public.*"}, Create: true}
	left := func() string {
		t.Helper()
		out, err := cl.Psql(ctx, "", `SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgcdc') || ' ' || (SELECT count(*) FROM pg_publication WHERE pubname = 'pgcdc')`)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}

	// Prepare creates the publication, then fails on the slot: it drops
	// the publication again.
	err = New(conn, cfg, nil).Prepare(ctx)
	if err == nil || !strings.Contains(err.Error(), "replication slot") {
		t.Fatalf("Prepare with no free slot: %v", err)
	}
	if got := left(); got != "0 0" {
		t.Fatalf("after a failed Prepare, slot and publication counts are %s, want 0 0", got)
	}
	mustPsql(t, cl, `SELECT pg_drop_replication_slot('other')`)

	// Prepare succeeds, the run fails before streaming: DropCreated.
	src := New(conn, cfg, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if got := left(); got != "1 1" {
		t.Fatalf("after Prepare: %s, want 1 1", got)
	}
	if err := src.DropCreated(ctx); err != nil {
		t.Fatal(err)
	}
	if got := left(); got != "0 0" {
		t.Fatalf("after DropCreated: %s, want 0 0", got)
	}
	if err := src.DropCreated(ctx); err != nil {
		t.Fatalf("a second DropCreated: %v", err)
	}

	// Once streaming started, DropCreated keeps both.
	src = New(conn, cfg, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	col := newCollector()
	go func() { done <- src.Run(runCtx, col, col) }()
	deadline := time.Now().Add(30 * time.Second)
	for !src.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("never streamed")
		}
		time.Sleep(10 * time.Millisecond) // Ready has no signal
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := src.DropCreated(ctx); err != nil {
		t.Fatal(err)
	}
	if got := left(); got != "1 1" {
		t.Fatalf("DropCreated after streaming: %s, want 1 1 (kept)", got)
	}
}
