package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// BenchmarkMemoryBudget measures how pgcdc's peak RSS compares with its
// in-flight byte budget (pipeline.max_inflight_bytes) on the two workloads
// that hold the most: a 1,000,000-row transaction through a batched
// webhook, and two 50 MB rows (text and bytea). It reports the peak RSS
// and its ratio to the budget. Run it with the plain build:
//
//	PGCDC_TEST_NORACE=1 go test -run X -bench MemoryBudget -benchtime 1x ./cmd/pgcdc
func BenchmarkMemoryBudget(b *testing.B) {
	const budget = 64 << 20
	cases := []struct {
		name  string
		setup string
		sink  string
		delay time.Duration // per request: a slow receiver fills the budget
	}{
		{"million-row-txn/webhook-500", `CREATE TABLE t (id bigint PRIMARY KEY, s text NOT NULL);
CREATE PUBLICATION pgcdc FOR TABLE t;
SELECT 1 FROM pg_create_logical_replication_slot('pgcdc', 'pgoutput');
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000000) g;`, "batch: {max_events: 500}", 3 * time.Millisecond},
		{"two-50MB-rows/webhook-1", `CREATE TABLE t (id bigint PRIMARY KEY, s text, b bytea);
ALTER TABLE t ALTER s SET STORAGE EXTERNAL, ALTER b SET STORAGE EXTERNAL;
CREATE PUBLICATION pgcdc FOR TABLE t;
SELECT 1 FROM pg_create_logical_replication_slot('pgcdc', 'pgoutput');
INSERT INTO t VALUES (1, repeat('x', 50000000), NULL);
INSERT INTO t VALUES (2, NULL, convert_to(repeat('y', 50000000), 'UTF8'));`, "batch: {max_events: 1}", 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				peak := memoryRun(b, c.setup, c.sink, c.delay, budget)
				b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(float64(peak)/budget, "RSS/budget")
			}
		})
	}
}

// memoryRun drains the slot after setup through a webhook sink and returns
// pgcdc's peak RSS in bytes.
func memoryRun(b *testing.B, setup, batch string, delay time.Duration, budget int) int64 {
	cl := pgclustertest.Start(b, pgcluster.Options{Settings: map[string]string{"max_wal_size": "4GB"}})
	ctx := context.Background()
	for _, stmt := range strings.SplitAfter(setup, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := cl.Psql(ctx, "", stmt); err != nil {
			b.Fatal(err)
		}
	}
	out, err := cl.Psql(ctx, "", `SELECT pg_current_wal_lsn()`)
	if err != nil {
		b.Fatal(err)
	}
	var events atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(delay)
		if n > 0 {
			events.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	cfg := writeConfig(b, fmt.Sprintf(`source: {dsn: %q}
server: {listen: "127.0.0.1:0"}
pipeline: {max_inflight_bytes: %d}
sinks:
  - {name: hook, type: webhook, url: %q, %s}
`, cl.DSN(""), budget, recv.URL, batch))
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, binary, "run", "-c", cfg, "--until-lsn", strings.TrimSpace(out))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	peakKiB, err := runPeak(cmd)
	if err != nil {
		b.Fatalf("pgcdc run: %v\n%s", err, stderr.String())
	}
	if events.Load() == 0 {
		b.Fatalf("the receiver got nothing\n%s", stderr.String())
	}
	return peakKiB << 10
}
