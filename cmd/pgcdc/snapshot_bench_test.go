package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/measure"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

var snapshotDoneRE = regexp.MustCompile(`msg="snapshot completed".* rows=(\d+) .*duration=(\S+)`)

// BenchmarkSnapshot compares the initial snapshot of a 1,000,000-row table
// to the stdout sink (to /dev/null) with COPY (SELECT ...) TO STDOUT of
// the same table in the same run, the database's own limit, and reports
// both rates, their ratio and pgcdc's peak RSS. Run it with the plain
// build:
//
//	PGCDC_TEST_NORACE=1 go test -run X -bench Snapshot -benchtime 1x ./cmd/pgcdc
func BenchmarkSnapshot(b *testing.B) {
	const rows = 1_000_000
	cl := pgclustertest.Start(b, pgcluster.Options{})
	ctx := context.Background()
	if _, err := cl.Psql(ctx, "", fmt.Sprintf(`CREATE TABLE t (id bigint PRIMARY KEY, s text NOT NULL, n int NOT NULL, at timestamptz NOT NULL DEFAULT now());
INSERT INTO t SELECT g, md5(g::text), g %% 1000 FROM generate_series(1, %d) g`, rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := cl.Psql(ctx, "", `VACUUM ANALYZE t`); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		db, err := pgx.Connect(ctx, cl.DSN(""))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		tag, err := db.PgConn().CopyTo(ctx, io.Discard, `COPY (SELECT * FROM t) TO STDOUT`)
		if err != nil {
			b.Fatal(err)
		}
		copyRate := float64(tag.RowsAffected()) / time.Since(start).Seconds()
		db.Close(ctx)

		slot := fmt.Sprintf("bench%d", i)
		cfg := writeConfig(b, fmt.Sprintf(`source: {dsn: %q, slot: %s, publication: %s, create: true, tables: [public.t], snapshot: initial}
sinks: [{name: out, type: stdout}]
`, cl.DSN(""), slot, slot))
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		args := []string{"run", "-c", cfg}
		if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
			args = append(args, "--cpuprofile", p)
		}
		cmd := exec.Command(binary, args...)
		cmd.Stdout = devnull
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stopWatch := measure.WatchPeak(cmd.Process.Pid, 10*time.Millisecond)
		var snapRows int64
		var dur time.Duration
		sc := bufio.NewScanner(stderr)
		var logs []string
		for sc.Scan() {
			logs = append(logs, sc.Text())
			if m := snapshotDoneRE.FindStringSubmatch(sc.Text()); m != nil {
				snapRows, _ = strconv.ParseInt(m[1], 10, 64)
				dur, _ = time.ParseDuration(m[2])
				break
			}
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		go func() { _, _ = io.Copy(io.Discard, stderr) }()
		_ = cmd.Wait()
		peakKiB := stopWatch()
		devnull.Close()
		if snapRows != rows {
			b.Fatalf("snapshot sent %d rows, want %d\n%s", snapRows, rows, strings.Join(logs, "\n"))
		}
		rate := float64(snapRows) / dur.Seconds()
		b.ReportMetric(copyRate, "COPY-rows/s")
		b.ReportMetric(rate, "snapshot-rows/s")
		b.ReportMetric(rate/copyRate, "ratio")
		b.ReportMetric(float64(peakKiB)/1024, "peak-RSS-MiB")
	}
}
