// Package bench is `pgcdc bench`: pgcdc's throughput against
// pg_recvlogical on the same WAL. It starts a throwaway PostgreSQL,
// inserts narrow rows, and drains the same WAL through two slots created
// at the same point, once with pg_recvlogical -P pgoutput and once with
// `pgcdc run --until-lsn`, each a child process whose CPU time and peak
// RSS it reports. Package live is `pgcdc bench live`.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/measure"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// Options are the flags of pgcdc bench (named in Validate's errors).
type Options struct {
	Rows, TxnRows, Repeat int    // --rows, --txn-rows, --repeat
	Sink                  string // --sink: stdout, webhook or nats
	MaxEvents             int    // --max-events: the webhook's batch.max_events
	Sign                  bool   // --sign: the webhook signs, the receiver verifies
	CPUProfile            string // --cpuprofile: pgcdc run's, for performance work
	// Binary is the pgcdc executable to drain with; empty: this one.
	Binary string
}

// Validate checks the options' values, naming the flag that is wrong.
func (o Options) Validate() error {
	switch {
	case o.Sink != "stdout" && o.Sink != "webhook" && o.Sink != "nats":
		return fmt.Errorf("--sink is %q, want stdout, webhook or nats", o.Sink)
	case o.Rows < 1 || o.TxnRows < 1 || o.Repeat < 1:
		return errors.New("--rows, --txn-rows and --repeat must be at least 1")
	case o.MaxEvents < 1:
		return errors.New("--max-events must be at least 1")
	case o.Sink != "webhook" && o.Sign:
		return errors.New("--max-events and --sign apply to --sink webhook only")
	}
	return nil
}

// result is one drain run: its wall time and what the process used.
type result struct {
	wall time.Duration
	measure.Usage
}

// Run runs the bench and prints its progress and report to out.
func Run(ctx context.Context, out io.Writer, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	rows, txnRows, repeat := o.Rows, o.TxnRows, o.Repeat
	self := o.Binary
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return fmt.Errorf("find the pgcdc executable: %w", err)
		}
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
		if o.Sink == "nats" {
			setup += fmt.Sprintf("SELECT pg_create_logical_replication_slot('stdout_%d', 'pgoutput');", i) // nats.go
		}
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
	// The inserts commit with synchronous_commit off (fast), except the
	// last: until the WAL writer catches up, asynchronous commits lie past
	// pg_current_wal_lsn() (the write position), and a run bounded by it
	// stopped a transaction short (CI: 2,500 of 3,000 rows). A synchronous
	// commit flushes its own commit record and everything before it. It
	// must be one that wrote WAL: a transaction that only took an xid
	// (SELECT txid_current()) commits asynchronously whatever the setting.
	for first := 1; first <= rows; first += txnRows {
		last := min(first+txnRows-1, rows)
		if last == rows {
			if _, err := conn.Exec(ctx, `SET synchronous_commit = on`); err != nil {
				return err
			}
		}
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

	sinkYAML, label := "{name: out, type: stdout}", "pgcdc run (stdout sink)"
	var hook *receiver
	if o.Sink == "webhook" {
		if hook, err = startReceiver(o.Sign); err != nil {
			return err
		}
		defer hook.close()
		sinkYAML = fmt.Sprintf("{name: out, type: webhook, url: %q, batch: {max_events: %d}%s}", hook.url, o.MaxEvents, hook.secretYAML)
		label = fmt.Sprintf("pgcdc run (webhook, %d/req)", o.MaxEvents)
		if o.Sign {
			label = fmt.Sprintf("pgcdc run (webhook, %d/req, signed)", o.MaxEvents)
		}
	}

	var top string          // --sink nats: the nats.embedded section
	var stdoutRuns []result // --sink nats: the stdout sink on the same WAL
	var recv, mine []result
	for i := range repeat {
		if o.Sink == "nats" {
			// A fresh embedded server and stream each run (nats.go).
			if sinkYAML, top, err = natsSink(dir, i); err != nil {
				return err
			}
			label = "pgcdc run (nats sink, embedded)"
		}
		r, err := timeChild(exec.CommandContext(ctx, filepath.Join(cl.BinDir(), "pg_recvlogical"),
			"-d", cl.DSN(""), "--slot", fmt.Sprintf("recv_%d", i), "--start", "--endpos", end, "--no-loop",
			"-o", "proto_version=1", "-o", "publication_names=bench", "-f", os.DevNull), devnull)
		if err != nil {
			return fmt.Errorf("pg_recvlogical: %w", err)
		}
		recv = append(recv, r)
		cfgPath := filepath.Join(dir, fmt.Sprintf("bench-%d.yaml", i))
		cfg := fmt.Sprintf("source: {dsn: %q, slot: pgcdc_%d, publication: bench}\nsinks: [%s]\nserver: {listen: \"127.0.0.1:0\"}\nlog: {level: warn}\n%s", cl.DSN(""), i, sinkYAML, top)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return err
		}
		args := []string{"run", "-c", cfgPath, "--until-lsn", end}
		if o.CPUProfile != "" {
			args = append(args, "--cpuprofile", o.CPUProfile)
		}
		r, err = timeChild(exec.CommandContext(ctx, self, args...), devnull)
		if err != nil {
			return fmt.Errorf("pgcdc run: %w", err)
		}
		mine = append(mine, r)
		if o.Sink == "nats" {
			if err := checkStream(ctx, dir, i, rows); err != nil {
				return err
			}
			so, err := stdoutRun(ctx, self, dir, cl.DSN(""), i, end, devnull)
			if err != nil {
				return err
			}
			stdoutRuns = append(stdoutRuns, so)
			fmt.Fprintf(out, "run %d: pgcdc stdout sink %.2fs\n", i+1, so.wall.Seconds())
		}
		var delivered string
		if hook != nil {
			reqs, events, bad := hook.take()
			switch {
			case bad != nil:
				return fmt.Errorf("webhook receiver: %w", bad)
			case events != int64(rows):
				return fmt.Errorf("webhook receiver got %d events in %d requests, want %d", events, reqs, rows)
			}
			delivered = fmt.Sprintf("; webhook: %d events in %d requests, in order", events, reqs)
		}
		confirmed, err := confirmedOnceReleased(ctx, conn, fmt.Sprintf("pgcdc_%d", i))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "run %d: pg_recvlogical %.2fs, pgcdc %.2fs (slot confirmed %s, end %s%s)\n", i+1, recv[i].wall.Seconds(), mine[i].wall.Seconds(), confirmed, end, delivered)
	}
	rb, mb := best(recv), best(mine)
	rr, mr := float64(rows)/rb.wall.Seconds(), float64(rows)/mb.wall.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d rows, %d per transaction, best of %d (same cluster, same WAL, sequential runs):\n", rows, txnRows, repeat)
	fmt.Fprintf(&b, "  %-40s %10s %12s %16s %14s\n", "", "seconds", "rows/s", "CPU s / 1M rows", "peak RSS MiB")
	fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", "pg_recvlogical -P pgoutput", rb.wall.Seconds(), rr, rb.CPU.Seconds()*1e6/float64(rows), float64(rb.PeakRSSKiB)/1024)
	fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", label, mb.wall.Seconds(), mr, mb.CPU.Seconds()*1e6/float64(rows), float64(mb.PeakRSSKiB)/1024)
	fmt.Fprintf(&b, "  ratio pgcdc / pg_recvlogical (rows/s): %.2f\n", mr/rr)
	if len(stdoutRuns) > 0 {
		sb := best(stdoutRuns)
		sr := float64(rows) / sb.wall.Seconds()
		fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", "pgcdc run (stdout sink)", sb.wall.Seconds(), sr, sb.CPU.Seconds()*1e6/float64(rows), float64(sb.PeakRSSKiB)/1024)
		fmt.Fprintf(&b, "  ratio nats sink / stdout sink (rows/s): %.2f\n", mr/sr)
	}
	fmt.Fprint(out, b.String())
	return nil
}

// confirmedOnceReleased returns the slot's confirmed position once its
// walsender has gone: pgcdc's last standby status may still be in the
// walsender's socket when pgcdc exits, and the slot shows it only once
// the walsender read it (it reads up to the connection's end before it
// exits).
func confirmedOnceReleased(ctx context.Context, conn *pgx.Conn, slot string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var confirmed string
		var active bool
		if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&confirmed, &active); err != nil {
			return "", fmt.Errorf("slot %s: %w", slot, err)
		}
		if !active {
			return confirmed, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("slot %s still active 10 s after pgcdc exited", slot)
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func best(rs []result) result {
	b := rs[0]
	for _, r := range rs[1:] {
		if r.wall < b.wall {
			b = r
		}
	}
	return b
}

// timeChild runs cmd with stdout to devnull and returns its wall time, CPU
// time (user+sys) and peak RSS: the child's own high-water mark sampled
// every 10 ms where /proc has it, else getrusage's figure, which on Linux
// is at least this process's resident set when the child started (see
// measure.Exited): pg_recvlogical's 10.4 MiB read as 16–22 MiB.
func timeChild(cmd *exec.Cmd, devnull *os.File) (result, error) {
	cmd.Stdout = devnull
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	stopWatch := measure.WatchPeak(cmd.Process.Pid, 10*time.Millisecond)
	err := cmd.Wait()
	peak := stopWatch()
	if err != nil {
		return result{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	r := result{wall: time.Since(start), Usage: measure.Exited(cmd.ProcessState)}
	if peak > 0 {
		r.PeakRSSKiB = peak
	}
	return r, nil
}
