package demo

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

func TestCheckRate(t *testing.T) {
	for _, ok := range []float64{MinRate, 0.5, 5, MaxRate} {
		if err := CheckRate(ok); err != nil {
			t.Errorf("CheckRate(%v): %v", ok, err)
		}
	}
	for _, bad := range []float64{0, -1, MinRate / 2, MaxRate + 1, 1e10, math.NaN(), math.Inf(1), math.Inf(-1), 1e-300} {
		if err := CheckRate(bad); err == nil || !strings.Contains(err.Error(), "--rate") {
			t.Errorf("CheckRate(%v) = %v, want an error naming --rate", bad, err)
		}
	}
}

// Setup makes the tables and the publication; traffic written right after
// a slot is created decodes through pgoutput (the publication predates
// the slot) and reaches both tables.
func TestSetupAndTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if err := Setup(ctx, cl, "demo", []string{"public.*"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot('demo', 'pgoutput')`); err != nil {
		t.Fatal(err)
	}
	tctx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer stop()
	if err := Traffic(tctx, cl.DSN(""), 40, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Traffic: %v", err)
	}
	var users, orders int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)`).Scan(&users, &orders); err != nil {
		t.Fatal(err)
	}
	if users < 1 || orders < 1 {
		t.Errorf("after 1.5 s at 40/s: %d users, %d orders", users, orders)
	}
	var changes int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_logical_slot_peek_binary_changes('demo', NULL, NULL, 'proto_version', '1', 'publication_names', 'demo')`).Scan(&changes); err != nil {
		t.Fatalf("decode the traffic through pgoutput: %v", err)
	}
	if changes < users+orders {
		t.Errorf("%d pgoutput messages for %d users and %d orders", changes, users, orders)
	}
}
