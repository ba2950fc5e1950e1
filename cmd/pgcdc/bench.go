package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

func newBenchCmd() *cobra.Command {
	var rows, txnRows, repeat int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure pgcdc run (stdout to /dev/null) against pg_recvlogical on the same workload",
		Long: `bench starts a throwaway PostgreSQL, inserts --rows narrow rows in transactions
of --txn-rows, and drains the same WAL twice per repeat, through two slots
created at the same point: once with pg_recvlogical -P pgoutput (to /dev/null)
and once with 'pgcdc run --until-lsn' (stdout sink to /dev/null). It prints
rows/s for each, their ratio, CPU seconds per million events and peak RSS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), rows, txnRows, repeat)
		},
	}
	cmd.Flags().IntVar(&rows, "rows", 1_000_000, "rows to insert")
	cmd.Flags().IntVar(&txnRows, "txn-rows", 1000, "rows per transaction")
	cmd.Flags().IntVar(&repeat, "repeat", 1, "drain runs of each tool, alternating")
	return cmd
}

type benchResult struct {
	wall       time.Duration
	cpu        time.Duration
	maxRSSKiB  int64
	serverBusy time.Duration
}

func runBench(ctx context.Context, out io.Writer, rows, txnRows, repeat int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{
		"shared_buffers": "256MB", "max_wal_size": "8GB", "checkpoint_timeout": "1h", "synchronous_commit": "off"}})
	if err != nil {
		return err
	}
	defer cl.Cleanup()
	setup := `CREATE TABLE bench (id bigint PRIMARY KEY, n int NOT NULL, s text NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE PUBLICATION bench FOR TABLE bench;`
	for i := range repeat {
		setup += fmt.Sprintf("SELECT pg_create_logical_replication_slot('pgcdc_%d', 'pgoutput'), pg_create_logical_replication_slot('recv_%d', 'pgoutput');", i, i)
	}
	conn, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, stmt := range strings.Split(setup, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("bench setup: %w", err)
		}
	}
	fmt.Fprintf(out, "inserting %d rows in transactions of %d ...\n", rows, txnRows)
	for first := 1; first <= rows; first += txnRows {
		last := min(first+txnRows-1, rows)
		if _, err := conn.Exec(ctx, `INSERT INTO bench (id, n, s) SELECT g, g % 1000, md5(g::text) FROM generate_series($1::bigint, $2::bigint) g`, first, last); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	var end string
	if err := conn.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pgcdc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()

	var recv, mine []benchResult
	for i := range repeat {
		r, err := timeChild(exec.CommandContext(ctx, filepath.Join(cl.BinDir(), "pg_recvlogical"),
			"-d", cl.DSN(""), "--slot", fmt.Sprintf("recv_%d", i), "--start", "--endpos", end, "--no-loop",
			"-o", "proto_version=1", "-o", "publication_names=bench", "-f", os.DevNull), devnull)
		if err != nil {
			return fmt.Errorf("pg_recvlogical: %w", err)
		}
		recv = append(recv, r)
		cfgPath := filepath.Join(dir, fmt.Sprintf("bench-%d.yaml", i))
		cfg := fmt.Sprintf("source: {dsn: %q, slot: pgcdc_%d, publication: bench}\nsinks: [{name: out, type: stdout}]\nlog: {level: warn}\n", cl.DSN(""), i)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return err
		}
		r, err = timeChild(exec.CommandContext(ctx, self, "run", "-c", cfgPath, "--until-lsn", end), devnull)
		if err != nil {
			return fmt.Errorf("pgcdc run: %w", err)
		}
		mine = append(mine, r)
		var confirmed string
		if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, fmt.Sprintf("pgcdc_%d", i)).Scan(&confirmed); err != nil {
			return err
		}
		fmt.Fprintf(out, "run %d: pg_recvlogical %.2fs, pgcdc %.2fs (slot confirmed %s, end %s)\n", i+1, recv[i].wall.Seconds(), mine[i].wall.Seconds(), confirmed, end)
	}
	rb, mb := best(recv), best(mine)
	rr, mr := float64(rows)/rb.wall.Seconds(), float64(rows)/mb.wall.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d rows, %d per transaction, best of %d (same cluster, same WAL, sequential runs):\n", rows, txnRows, repeat)
	fmt.Fprintf(&b, "  %-28s %10s %12s %16s %14s\n", "", "seconds", "rows/s", "CPU s / 1M rows", "peak RSS MiB")
	fmt.Fprintf(&b, "  %-28s %10.2f %12.0f %16.2f %14.1f\n", "pg_recvlogical -P pgoutput", rb.wall.Seconds(), rr, rb.cpu.Seconds()*1e6/float64(rows), float64(rb.maxRSSKiB)/1024)
	fmt.Fprintf(&b, "  %-28s %10.2f %12.0f %16.2f %14.1f\n", "pgcdc run (stdout sink)", mb.wall.Seconds(), mr, mb.cpu.Seconds()*1e6/float64(rows), float64(mb.maxRSSKiB)/1024)
	fmt.Fprintf(&b, "  ratio pgcdc / pg_recvlogical (rows/s): %.2f\n", mr/rr)
	fmt.Fprint(out, b.String())
	return nil
}

func best(rs []benchResult) benchResult {
	b := rs[0]
	for _, r := range rs[1:] {
		if r.wall < b.wall {
			b = r
		}
	}
	return b
}

// timeChild runs cmd with stdout to devnull and returns its wall time, CPU
// time (user+sys) and peak RSS.
func timeChild(cmd *exec.Cmd, devnull *os.File) (benchResult, error) {
	cmd.Stdout = devnull
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return benchResult{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	wall := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := benchResult{wall: wall}
	if ru != nil {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.maxRSSKiB = ru.Maxrss
	}
	return r, nil
}
