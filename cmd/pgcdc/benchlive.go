package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// liveOptions are the flags of pgcdc bench live.
type liveOptions struct {
	protos   []string // "sse", "websocket", in run order
	clients  []int    // client counts, one run per count and protocol
	rate     int      // committed single-row transactions per second
	writers  int      // writer connections
	duration time.Duration
	warmup   time.Duration
	drain    time.Duration // longest wait for the clients after the writer stops
	binary   string        // the pgcdc to run; empty: this executable
	// cpuProfile is passed to the child's hidden --cpuprofile, for
	// performance work; each run overwrites it.
	cpuProfile string
}

func newBenchLiveCmd() *cobra.Command {
	var o liveOptions
	var proto, clients string
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Measure commit-to-client latency of the SSE and WebSocket sinks with many clients",
		Long: `live starts a throwaway PostgreSQL (synchronous_commit=on) with a table ticks,
then for each client count and protocol: starts 'pgcdc run' as a child
process with one sse sink (/events) and one websocket sink (/ws), connects
--clients idle clients (measuring the child's memory per idle connection),
commits --rate single-row transactions per second for --warmup plus
--duration, and waits up to --drain for the clients to receive everything.

Every client checks that it receives every event once, in commit order, and
records commit→receive latency (its clock minus the event's commit_time) for
the events committed after the warmup. The clients run in this process: they
share the machine's CPUs with pgcdc and PostgreSQL, so the figures include
their cost. Reported per run: latency percentiles (bucket upper bounds, ±6%;
events that never arrived count as over 10 s), the achieved commit rate,
deliveries, clients with errors, pgcdc's CPU seconds per million deliveries
and its RSS. --clients takes a comma list for a sweep; the report ends with
the largest client count whose p99 stayed under 100 ms.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.protos, err = parseLiveProtos(proto); err != nil {
				return withCode(exitUsage, err)
			}
			if o.clients, err = parseClientCounts(clients); err != nil {
				return withCode(exitUsage, err)
			}
			switch {
			case o.rate < 1:
				return withCode(exitUsage, fmt.Errorf("--rate is %d, want at least 1 transaction per second", o.rate))
			case o.writers < 1:
				return withCode(exitUsage, fmt.Errorf("--writers is %d, want at least 1", o.writers))
			case o.duration <= 0 || o.warmup < 0 || o.drain <= 0:
				return withCode(exitUsage, errors.New("--duration and --drain must be positive and --warmup not negative"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = runBenchLive(ctx, cmd.OutOrStdout(), o)
			return err
		},
	}
	cmd.Flags().StringVar(&proto, "proto", "both", "sse, websocket or both (one after the other)")
	cmd.Flags().StringVar(&clients, "clients", "1000", "clients per run; a comma list runs a sweep (1000,2000,5000,10000)")
	cmd.Flags().IntVar(&o.rate, "rate", 1000, "committed single-row transactions per second")
	cmd.Flags().IntVar(&o.writers, "writers", 4, "writer connections sharing --rate")
	cmd.Flags().DurationVar(&o.duration, "duration", 20*time.Second, "measured time per run, after the warmup")
	cmd.Flags().DurationVar(&o.warmup, "warmup", 3*time.Second, "traffic before the measured window; its events are not measured")
	cmd.Flags().DurationVar(&o.drain, "drain", 30*time.Second, "longest wait for the clients to catch up once the writer stops")
	cmd.Flags().StringVar(&o.binary, "binary", "", "the pgcdc executable to measure (default: this one)")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write the pgcdc child's CPU profile here (the last run's)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func parseLiveProtos(s string) ([]string, error) {
	switch s {
	case "both":
		return []string{"sse", "websocket"}, nil
	case "sse", "websocket":
		return []string{s}, nil
	}
	return nil, fmt.Errorf("--proto is %q, want sse, websocket or both", s)
}

func parseClientCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--clients: %q is not a positive number (want e.g. 1000 or 1000,2000,5000)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// liveEnv is what every run of one pgcdc bench live shares.
type liveEnv struct {
	o       liveOptions
	bin     string
	dir     string
	cl      *pgcluster.Cluster
	admin   *pgx.Conn
	writers []*pgx.Conn
}

// runBenchLive runs every (client count, protocol) pair of o, printing the
// report table to out as the runs finish, and returns the results.
func runBenchLive(ctx context.Context, out io.Writer, o liveOptions) ([]liveResult, error) {
	if err := raiseFileLimit(uint64(slices.Max(o.clients)) + 256); err != nil {
		return nil, err
	}
	e := &liveEnv{o: o, bin: o.binary}
	if e.bin == "" {
		var err error
		if e.bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the pgcdc executable: %w", err)
		}
	}
	// track_commit_timestamp lets the bench count the transactions
	// committed in the measured window by the same clock the events carry.
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{
		"synchronous_commit": "on", "track_commit_timestamp": "on", "max_wal_size": "4GB"}})
	if err != nil {
		return nil, err
	}
	defer cl.Cleanup()
	e.cl = cl
	if e.dir, err = os.MkdirTemp("", "pgcdc-bench-live-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(e.dir)
	if e.admin, err = pgx.Connect(ctx, cl.DSN("")); err != nil {
		return nil, fmt.Errorf("connect to the bench cluster: %w", err)
	}
	defer e.admin.Close(context.Background())
	if _, err := e.admin.Exec(ctx, `CREATE TABLE ticks (id bigserial PRIMARY KEY, payload text)`); err != nil {
		return nil, fmt.Errorf("create table ticks: %w", err)
	}
	for range o.writers {
		w, err := pgx.Connect(ctx, cl.DSN(""))
		if err != nil {
			return nil, fmt.Errorf("connect a writer: %w", err)
		}
		defer w.Close(context.Background())
		e.writers = append(e.writers, w)
	}

	fmt.Fprintf(out, "pgcdc bench live: %d single-row transactions/s (synchronous_commit=on, %d writer connections), warmup %s, measured %s\n",
		o.rate, o.writers, o.warmup, o.duration)
	fmt.Fprintf(out, "the clients run in this process and share the %d CPUs with pgcdc and PostgreSQL; load average at start: %s\n\n",
		runtime.NumCPU(), loadAverage())
	printLiveHeader(out)
	var results []liveResult
	seq := 0
	for _, n := range o.clients {
		for _, proto := range o.protos {
			r, err := e.run(ctx, proto, n, seq)
			seq++
			if err != nil {
				return results, fmt.Errorf("%s with %d clients: %w", proto, n, err)
			}
			printLiveRow(out, r)
			results = append(results, r)
		}
	}
	printLiveSummary(out, results)
	return results, nil
}

// writerResult is what the paced writer did.
type writerResult struct {
	committed int64
	lastDone  time.Time // when the last commit returned
	err       error
}

const liveInsert = `INSERT INTO ticks (payload) VALUES ($1)`

const livePayload = "tick-0123456789abcdefghijklmnopqrstuvwxyz"

// write commits rate single-row transactions per second from t0 until end,
// paced by a 1 ms ticker (the transactions due so far are queued to the
// writer connections) so that a late tick catches up rather than lowers
// the rate.
func (e *liveEnv) write(ctx context.Context, t0, end time.Time) writerResult {
	jobs := make(chan struct{}, e.o.rate)
	results := make(chan writerResult, len(e.writers))
	for _, w := range e.writers {
		go func() {
			var r writerResult
			for range jobs {
				if r.err != nil {
					continue // drain the queue; the first error is reported
				}
				if _, err := w.Exec(ctx, liveInsert, livePayload); err != nil {
					r.err = fmt.Errorf("insert: %w", err)
					continue
				}
				r.committed++
				r.lastDone = time.Now()
			}
			results <- r
		}()
	}
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	stop := time.NewTimer(time.Until(end))
	defer stop.Stop()
	sent := 0
loop:
	for {
		due := int(time.Since(t0).Seconds() * float64(e.o.rate))
		for ; sent < due; sent++ {
			select {
			case jobs <- struct{}{}:
			case <-stop.C:
				break loop
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case <-ticker.C:
		case <-stop.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	close(jobs)
	var total writerResult
	for range e.writers {
		r := <-results
		total.committed += r.committed
		if r.lastDone.After(total.lastDone) {
			total.lastDone = r.lastDone
		}
		if total.err == nil {
			total.err = r.err
		}
	}
	if total.err == nil {
		total.err = ctx.Err()
	}
	return total
}
