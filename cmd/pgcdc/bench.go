package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// benchOptions are the flags of pgcdc bench.
type benchOptions struct {
	rows, txnRows, repeat int
	sink                  string // stdout or webhook
	maxEvents             int    // webhook batch.max_events
	sign                  bool   // webhook: sign requests, the receiver verifies
	cpuProfile            string // pgcdc run --cpuprofile, for performance work
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure pgcdc run (stdout to /dev/null, or a local webhook) against pg_recvlogical on the same workload",
		Long: `bench starts a throwaway PostgreSQL, inserts --rows narrow rows in transactions
of --txn-rows, and drains the same WAL twice per repeat, through two slots
created at the same point: once with pg_recvlogical -P pgoutput (to /dev/null)
and once with 'pgcdc run --until-lsn'. With --sink stdout (the default) pgcdc
writes to /dev/null; with --sink webhook it POSTs to a receiver that bench
runs on 127.0.0.1 (answering 204 and counting the events, checked against
--rows), in requests of up to --max-events events, signed with --sign. It
prints rows/s for each, their ratio, CPU seconds per million events and peak
RSS of the drain process (the receiver's CPU is not counted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.sink != "stdout" && o.sink != "webhook" && o.sink != "nats":
				return withCode(exitUsage, fmt.Errorf("--sink is %q, want stdout, webhook or nats", o.sink))
			case o.rows < 1 || o.txnRows < 1 || o.repeat < 1:
				return withCode(exitUsage, fmt.Errorf("--rows, --txn-rows and --repeat must be at least 1"))
			case o.maxEvents < 1:
				return withCode(exitUsage, fmt.Errorf("--max-events must be at least 1"))
			case o.sink != "webhook" && (o.sign || cmd.Flags().Changed("max-events")):
				return withCode(exitUsage, fmt.Errorf("--max-events and --sign apply to --sink webhook only"))
			}
			return runBench(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.AddCommand(newBenchLiveCmd())
	cmd.Flags().IntVar(&o.rows, "rows", 1_000_000, "rows to insert")
	cmd.Flags().IntVar(&o.txnRows, "txn-rows", 1000, "rows per transaction")
	cmd.Flags().IntVar(&o.repeat, "repeat", 1, "drain runs of each tool, alternating")
	cmd.Flags().StringVar(&o.sink, "sink", "stdout", "pgcdc's sink: stdout (to /dev/null), webhook (a local receiver) or nats (an embedded JetStream server with file storage; also times the stdout sink on the same WAL)")
	cmd.Flags().IntVar(&o.maxEvents, "max-events", 500, "webhook batch.max_events: events per request")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write pgcdc run's CPU profile of the last repeat here")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().BoolVar(&o.sign, "sign", false, "webhook: sign requests (Standard Webhooks) and verify them in the receiver")
	return cmd
}

type benchResult struct {
	wall      time.Duration
	cpu       time.Duration
	maxRSSKiB int64
}

func runBench(ctx context.Context, out io.Writer, o benchOptions) error {
	rows, txnRows, repeat := o.rows, o.txnRows, o.repeat
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
		if o.sink == "nats" {
			setup += fmt.Sprintf("SELECT pg_create_logical_replication_slot('stdout_%d', 'pgoutput');", i)
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

	sinkYAML, label := "{name: out, type: stdout}", "pgcdc run (stdout sink)"
	var hook *benchReceiver
	if o.sink == "webhook" {
		if hook, err = startBenchReceiver(o.sign); err != nil {
			return err
		}
		defer hook.close()
		sinkYAML = fmt.Sprintf("{name: out, type: webhook, url: %q, batch: {max_events: %d}%s}", hook.url, o.maxEvents, hook.secretYAML)
		label = fmt.Sprintf("pgcdc run (webhook, %d/req)", o.maxEvents)
		if o.sign {
			label = fmt.Sprintf("pgcdc run (webhook, %d/req, signed)", o.maxEvents)
		}
	}

	var top string               // --sink nats: nats.embedded
	var stdoutRuns []benchResult // --sink nats: the stdout sink on the same WAL
	var recv, mine []benchResult
	for i := range repeat {
		if o.sink == "nats" {
			// A fresh embedded server and stream each run (bench_nats.go).
			if sinkYAML, top, err = benchNATSSink(dir, i); err != nil {
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
		if o.cpuProfile != "" {
			args = append(args, "--cpuprofile", o.cpuProfile)
		}
		r, err = timeChild(exec.CommandContext(ctx, self, args...), devnull)
		if err != nil {
			return fmt.Errorf("pgcdc run: %w", err)
		}
		mine = append(mine, r)
		if o.sink == "nats" {
			if err := benchNATSCheck(ctx, dir, i, rows); err != nil {
				return err
			}
			so, err := benchStdoutRun(ctx, self, dir, cl.DSN(""), i, end, devnull)
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
		var confirmed string
		if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, fmt.Sprintf("pgcdc_%d", i)).Scan(&confirmed); err != nil {
			return err
		}
		fmt.Fprintf(out, "run %d: pg_recvlogical %.2fs, pgcdc %.2fs (slot confirmed %s, end %s%s)\n", i+1, recv[i].wall.Seconds(), mine[i].wall.Seconds(), confirmed, end, delivered)
	}
	rb, mb := best(recv), best(mine)
	rr, mr := float64(rows)/rb.wall.Seconds(), float64(rows)/mb.wall.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d rows, %d per transaction, best of %d (same cluster, same WAL, sequential runs):\n", rows, txnRows, repeat)
	fmt.Fprintf(&b, "  %-40s %10s %12s %16s %14s\n", "", "seconds", "rows/s", "CPU s / 1M rows", "peak RSS MiB")
	fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", "pg_recvlogical -P pgoutput", rb.wall.Seconds(), rr, rb.cpu.Seconds()*1e6/float64(rows), float64(rb.maxRSSKiB)/1024)
	fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", label, mb.wall.Seconds(), mr, mb.cpu.Seconds()*1e6/float64(rows), float64(mb.maxRSSKiB)/1024)
	fmt.Fprintf(&b, "  ratio pgcdc / pg_recvlogical (rows/s): %.2f\n", mr/rr)
	if len(stdoutRuns) > 0 {
		sb := best(stdoutRuns)
		sr := float64(rows) / sb.wall.Seconds()
		fmt.Fprintf(&b, "  %-40s %10.2f %12.0f %16.2f %14.1f\n", "pgcdc run (stdout sink)", sb.wall.Seconds(), sr, sb.cpu.Seconds()*1e6/float64(rows), float64(sb.maxRSSKiB)/1024)
		fmt.Fprintf(&b, "  ratio nats sink / stdout sink (rows/s): %.2f\n", mr/sr)
	}
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

// benchReceiver is the webhook endpoint of pgcdc bench on 127.0.0.1: it
// answers 204, counts the events, checks that requests come in commit
// order (by webhook-id) and, when signing, verifies every signature.
type benchReceiver struct {
	url        string
	secretYAML string // ", secret: ..." for the sink's flow mapping, or empty
	key        webhook.Key
	srv        *http.Server
	bufs       sync.Pool

	mu       sync.Mutex
	requests int64
	events   int64
	lastID   string
	bad      error
}

func startBenchReceiver(sign bool) (*benchReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &benchReceiver{url: "http://" + l.Addr().String() + "/hooks"}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	if sign {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		secret := "whsec_" + base64.StdEncoding.EncodeToString(raw[:])
		if r.key, err = webhook.ParseKey(secret); err != nil {
			return nil, err
		}
		r.secretYAML = fmt.Sprintf(", secret: %q", secret)
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *benchReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	buf := r.bufs.Get().(*bytes.Buffer)
	defer r.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(req.Body); err != nil {
		return
	}
	body := buf.Bytes()
	var err error
	if !r.key.IsZero() {
		err = r.key.Verify(req.Header, body, time.Now(), 5*time.Minute)
	}
	n, cerr := countEvents(body)
	if err == nil {
		err = cerr
	}
	id := req.Header.Get(webhook.HeaderID)
	first, last, ok := strings.Cut(id, "-")
	if !ok {
		last = first
	}
	r.mu.Lock()
	if err == nil && first <= r.lastID {
		err = fmt.Errorf("request %s after one ending with %s: not in commit order", id, r.lastID)
	}
	if err != nil {
		if r.bad == nil {
			r.bad = err
		}
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest) // stops pgcdc: bench fails
		return
	}
	r.requests++
	r.events += int64(n)
	r.lastID = last
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// take returns and resets the counts of one drain run.
func (r *benchReceiver) take() (requests, events int64, bad error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	requests, events, bad = r.requests, r.events, r.bad
	r.requests, r.events, r.lastID, r.bad = 0, 0, "", nil
	return requests, events, bad
}

func (r *benchReceiver) close() { _ = r.srv.Close() }

// countEvents counts the events of a request body, one event object or a
// JSON array of them, in one pass without decoding: the objects opening
// at depth 1 of the array, strings skipped.
func countEvents(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		return 1, nil
	}
	if len(b) == 0 || b[0] != '[' {
		return 0, fmt.Errorf("body is neither an event nor an array of events")
	}
	depth, n := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth == 1 && c == '{' {
				n++
			}
			depth++
		case '}', ']':
			depth--
		}
	}
	if depth != 0 || inString {
		return 0, fmt.Errorf("body is not a complete JSON array")
	}
	return n, nil
}
