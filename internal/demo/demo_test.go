package demo

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"slices"
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
	// Traffic runs until every kind of change, the big transaction
	// included, is in the tables (counted, not timed: on a loaded machine
	// 500 transactions/s is not reached).
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	var logs strings.Builder
	done := make(chan error, 1)
	go func() { done <- Traffic(tctx, cl.DSN(""), 500, slog.New(slog.NewTextHandler(&logs, nil))) }()
	var customers, orders, repriced, deleted int
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for customers <= 5 || orders < BigRows || repriced == 0 || deleted == 0 {
		select {
		case err := <-done:
			t.Fatalf("Traffic ended: %v", err)
		case <-ctx.Done():
			t.Fatalf("within a minute: %d customers (5 seeded), %d orders (want a big transaction of %d), %d products repriced, %d orders deleted",
				customers, orders, BigRows, repriced, deleted)
		case <-tick.C:
		}
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),
  (SELECT count(*) FROM products WHERE price::text NOT LIKE '%.99'), (SELECT coalesce(max(id) - count(*), 0) FROM orders)`).Scan(&customers, &orders, &repriced, &deleted); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Traffic: %v", err)
	}
	if logs.Len() > 0 {
		t.Errorf("the traffic's statements failed:\n%s", logs.String())
	}
	var kinds []string
	rows, err := conn.Query(ctx, `SELECT DISTINCT substring(encode(data, 'escape') from 1 for 1) FROM pg_logical_slot_peek_binary_changes('demo', NULL, NULL, 'proto_version', '1', 'publication_names', 'demo')`)
	if err != nil {
		t.Fatalf("decode the traffic through pgoutput: %v", err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("decode the traffic through pgoutput: %v", err)
	}
	for _, want := range []string{"I", "U", "D"} { // pgoutput's insert, update and delete messages
		if !slices.Contains(kinds, want) {
			t.Errorf("the traffic decoded to messages %v: no %q", kinds, want)
		}
	}
}

// The receiver answers 2xx, and 503 for the configured share of requests.
func TestReceiver(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want int
	}{{0, http.StatusNoContent}, {1, http.StatusServiceUnavailable}} {
		rc, err := StartReceiver(c.rate)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(rc.URL, "application/json", strings.NewReader(`[{"id":"x"}]`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("fail rate %v: %d, want %d", c.rate, resp.StatusCode, c.want)
		}
		if err := rc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
}
