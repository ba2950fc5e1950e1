// Package live is `pgcdc bench live`: commit-to-client latency of the SSE
// and WebSocket sinks with many clients. It starts a throwaway PostgreSQL
// and, per run, a `pgcdc run` child with both sinks, connects the clients
// in this process, commits paced single-row transactions, and reports
// latency percentiles, completeness and what pgcdc and PostgreSQL used.
package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/measure"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// Options are the flags of pgcdc bench live (named in Validate's errors).
type Options struct {
	Protos   []string // --proto: "sse", "websocket", in run order
	Clients  []int    // --clients: one run per count and protocol
	Rate     int      // --rate: committed single-row transactions per second
	Writers  int      // --writers: writer connections
	Duration time.Duration
	Warmup   time.Duration
	Drain    time.Duration // longest wait for the clients after the writer stops
	Binary   string        // the pgcdc to run; empty: this executable
	// CPUProfile is passed to the child's hidden --cpuprofile, for
	// performance work; each run overwrites it.
	CPUProfile string
	// Edges, when not 0, serves the clients from that many pgcdc edge
	// processes reading a NATS stream the pgcdc run child writes
	// (edges.go); Clients are then per edge.
	Edges int
	// Tenants, when positive, adds a scoped run after each run: pgcdc
	// with server.auth (mode jwt, a forced tenant_id filter), client i
	// holding a token of tenant i % Tenants, and the writer's rows spread
	// over the tenants round-robin.
	Tenants int
}

// Validate checks the options' values, naming the flag that is wrong.
func (o Options) Validate() error {
	switch {
	case len(o.Protos) == 0 || len(o.Clients) == 0:
		return errors.New("--proto and --clients must name at least one protocol and client count")
	case o.Rate < 1:
		return fmt.Errorf("--rate is %d, want at least 1 transaction per second", o.Rate)
	case o.Writers < 1:
		return fmt.Errorf("--writers is %d, want at least 1", o.Writers)
	case o.Edges < 0 || o.Edges > 16:
		return fmt.Errorf("--edges is %d, want 0 to 16", o.Edges)
	case o.Duration <= 0 || o.Warmup < 0 || o.Drain <= 0:
		return errors.New("--duration and --drain must be positive and --warmup not negative")
	case o.Edges > 0 && o.Tenants > 0:
		return errors.New("--edges and --tenants do not go together yet: the edges run without auth")
	case o.Tenants < 0:
		return fmt.Errorf("--tenants is %d, want 0 (unscoped runs only) or more", o.Tenants)
	}
	return nil
}

// env is what every run of one pgcdc bench live shares.
type env struct {
	o       Options
	bin     string
	dir     string
	cl      *pgcluster.Cluster
	admin   *pgx.Conn
	writers []*pgx.Conn
	// natsAddr is the run child's embedded NATS server with --edges.
	natsAddr string
}

// Run runs every (client count, protocol) pair of o, printing the report
// table to out as the runs finish, and returns the results.
func Run(ctx context.Context, out io.Writer, o Options) ([]Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := raiseFileLimit(uint64(slices.Max(o.Clients)*max(1, o.Edges)) + 256); err != nil {
		return nil, err
	}
	e := &env{o: o, bin: o.Binary}
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
	if _, err := e.admin.Exec(ctx, `CREATE TABLE ticks (id bigserial, tenant_id int NOT NULL, payload text, PRIMARY KEY (tenant_id, id))`); err != nil {
		return nil, fmt.Errorf("create table ticks: %w", err)
	}
	for range o.Writers {
		w, err := pgx.Connect(ctx, cl.DSN(""))
		if err != nil {
			return nil, fmt.Errorf("connect a writer: %w", err)
		}
		defer w.Close(context.Background())
		e.writers = append(e.writers, w)
	}

	fmt.Fprintf(out, "pgcdc bench live: %d single-row transactions/s (synchronous_commit=on, %d writer connections), warmup %s, measured %s\n",
		o.Rate, o.Writers, o.Warmup, o.Duration)
	fmt.Fprintf(out, "the clients run in this process and share the %d CPUs with pgcdc and PostgreSQL; load average at start: %s\n\n",
		runtime.NumCPU(), measure.LoadAverage())
	printHeader(out)
	var results []Result
	seq := 0
	for _, n := range o.Clients {
		for _, proto := range o.Protos {
			for _, scoped := range []bool{false, true}[:1+min(o.Tenants, 1)] {
				r, err := e.run(ctx, proto, n, seq, scoped)
				seq++
				if err != nil {
					return results, fmt.Errorf("%s with %d clients: %w", r.Label(), n, err)
				}
				printRow(out, r)
				results = append(results, r)
			}
		}
	}
	printSummary(out, results)
	return results, nil
}

// writerResult is what the paced writer did.
type writerResult struct {
	committed int64
	lastDone  time.Time // when the last commit returned
	err       error
}

const insertSQL = `INSERT INTO ticks (tenant_id, payload) VALUES ($1, $2)`

const payload = "tick-0123456789abcdefghijklmnopqrstuvwxyz"

// write commits rate single-row transactions per second from t0 until end,
// paced by a 1 ms ticker (the transactions due so far are queued to the
// writer connections) so that a late tick catches up rather than lowers
// the rate.
func (e *env) write(ctx context.Context, t0, end time.Time) writerResult {
	jobs := make(chan int, e.o.Rate) // the row's tenant
	results := make(chan writerResult, len(e.writers))
	for _, w := range e.writers {
		go func() {
			var r writerResult
			for tenant := range jobs {
				if r.err != nil {
					continue // drain the queue; the first error is reported
				}
				if _, err := w.Exec(ctx, insertSQL, tenant, payload); err != nil {
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
		due := int(time.Since(t0).Seconds() * float64(e.o.Rate))
		for ; sent < due; sent++ {
			select {
			case jobs <- sent % max(e.o.Tenants, 1):
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
