package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/measure"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// lineCounter counts lines and keeps the first and the last one.
type lineCounter struct {
	n           int
	first, last []byte
	cur         []byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.cur = append(c.cur, p...)
			break
		}
		c.cur = append(c.cur, p[:i]...)
		if c.n == 0 {
			c.first = append([]byte(nil), c.cur...)
		}
		c.last = append(c.last[:0], c.cur...)
		c.cur = c.cur[:0]
		c.n++
		p = p[i+1:]
	}
	return n, nil
}

// TestMillionRowTransaction streams one transaction of 1,000,000 rows and
// checks that memory stays flat: the transaction is never held whole.
func TestMillionRowTransaction(t *testing.T) {
	const rows = 1_000_000
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"max_wal_size": "4GB"}})
	ctx := context.Background()
	var out string
	for _, sql := range []string{
		`CREATE TABLE big (id bigint PRIMARY KEY, s text NOT NULL); CREATE PUBLICATION pgcdc FOR TABLE big`,
		`SELECT 1 FROM pg_create_logical_replication_slot('pgcdc', 'pgoutput')`,
		`INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, ` + fmt.Sprint(rows) + `) g`,
		`SELECT pg_current_wal_lsn()`,
	} {
		var err error
		if out, err = cl.Psql(ctx, "", sql); err != nil {
			t.Fatal(err)
		}
	}
	end := strings.TrimSpace(out)
	cfg := writeConfig(t, fmt.Sprintf("source: {dsn: %q}\nsinks: [{name: out, type: stdout}]\nserver: {listen: \"127.0.0.1:0\"}\npipeline: {max_inflight_bytes: 16777216}\n", cl.DSN("")))
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, binary, "run", "-c", cfg, "--until-lsn", end)
	var lines lineCounter
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &lines, &stderr
	start := time.Now()
	peakKiB, err := runPeak(cmd)
	if err != nil {
		t.Fatalf("pgcdc run: %v\n%s", err, stderr.String())
	}
	wall := time.Since(start)
	if lines.n != rows {
		t.Fatalf("delivered %d events, want %d", lines.n, rows)
	}
	if !strings.Contains(string(lines.first), `"id":"1"`) || !strings.Contains(string(lines.last), fmt.Sprintf(`"id":"%d"`, rows)) {
		t.Fatalf("first/last events wrong:\n%s\n%s", lines.first, lines.last)
	}
	rssMiB := float64(peakKiB) / 1024
	t.Logf("1,000,000-row transaction: %.1fs, peak RSS %.0f MiB (binary built with -race, which multiplies memory)", wall.Seconds(), rssMiB)
	// Held whole, 1M decoded events take well over 500 MiB (more under
	// -race); streamed in batches under a 16 MiB in-flight budget the
	// process stays far below.
	if rssMiB > 300 {
		t.Fatalf("peak RSS %.0f MiB: the transaction is not streamed with flat memory", rssMiB)
	}
}

// runPeak runs cmd and returns its own peak RSS in KiB (VmHWM sampled
// every 10 ms). getrusage's figure would carry this test process's
// high-water mark across exec (measure.WatchPeak).
func runPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	stop := measure.WatchPeak(cmd.Process.Pid, 10*time.Millisecond)
	err := cmd.Wait()
	return stop(), err
}
