package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/source"
)

// demoSchema is the sample database of `pgcdc demo`.
const demoSchema = `
CREATE TABLE public.users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TYPE public.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES public.users(id),
  status public.order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  tags text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;
`

func newDemoCmd() *cobra.Command {
	var rate float64
	var duration time.Duration
	var keep bool
	var listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a throwaway PostgreSQL with sample tables and live traffic, and stream it to stdout",
		Long: `demo starts a throwaway PostgreSQL cluster from the installed server binaries
(initdb into a temporary directory, wal_level=logical, a free port), creates
sample tables (users, orders), writes live traffic into them, and runs the
pipeline with a stdout sink, an SSE sink at /events and a WebSocket sink at
/ws (on --listen). Events go to stdout, logs to stderr. Ctrl-C stops it and
removes the cluster.

  curl -N 'http://127.0.0.1:8080/events?table=public.orders&op=insert'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if math.IsNaN(rate) || rate < minDemoRate || rate > maxDemoRate {
				return withCode(exitUsage, fmt.Errorf("--rate is %v, want transactions per second from %v to %v", rate, minDemoRate, maxDemoRate))
			}
			if duration < 0 {
				return withCode(exitUsage, fmt.Errorf("--duration is %s, want 0 (until Ctrl-C) or a positive duration", duration))
			}
			// A second signal exits at once: the cluster goes with it.
			var cluster atomic.Pointer[pgcluster.Cluster]
			ctx, stop := signalContext(func() {
				if c := cluster.Load(); c != nil && !keep {
					_ = c.Stop(true)
					_ = os.RemoveAll(c.Dir)
				}
			})
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, rate, keep, listen, &cluster)
		},
	}
	cmd.Flags().Float64Var(&rate, "rate", 5, fmt.Sprintf("transactions per second of sample traffic (%v to %v)", minDemoRate, maxDemoRate))
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the cluster directory after exit")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the SSE (/events) and WebSocket (/ws) endpoints")
	return cmd
}

// The range of demo --rate: one transaction per 1,000 s to what one
// connection committing one at a time may reach.
const (
	minDemoRate = 0.001
	maxDemoRate = 10_000
)

// runDemo runs the demo until ctx ends. It stores the cluster in started
// as soon as it runs, for the forced exit to remove it.
func runDemo(ctx context.Context, rate float64, keep bool, listen string, started *atomic.Pointer[pgcluster.Cluster]) error {
	cfg := &config.Config{Server: config.Server{Listen: listen}, Sinks: []config.Sink{
		{Name: "stdout", Type: "stdout"},
		{Name: "live", Type: "sse", Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
		{Name: "ws", Type: "websocket", Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
	}}
	cfg.SetDefaults()
	log := newLogger(cfg.Log)
	log.Info("starting a throwaway PostgreSQL")
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	started.Store(cluster)
	if keep {
		defer func() { _ = cluster.Stop(false); log.Info("cluster kept", "dir", cluster.Dir) }()
	} else {
		defer cluster.Cleanup()
	}
	if _, err := cluster.Psql(ctx, "", demoSchema); err != nil {
		return fmt.Errorf("create sample tables: %w", err)
	}
	cfg.Source.DSN = cluster.DSN("")
	cfg.Source.Create = true
	// The publication goes before the slot that source.create makes: a
	// change committed between the slot's creation and the publication's
	// is decoded against a history without the publication, and fails.
	if err := createPublication(ctx, cfg.Source); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	log.Info("PostgreSQL is up", "dsn", config.RedactDSN(cfg.Source.DSN), "psql", fmt.Sprintf("psql -h %s -p %d -U postgres", cluster.Dir, cluster.Port))

	trafficErr := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { trafficErr <- traffic(runCtx, cfg.Source.DSN, rate, log) }()
	if err := runPipeline(runCtx, cfg, log, 0); err != nil {
		return err
	}
	cancel()
	if err := <-trafficErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// createPublication creates the demo's publication.
func createPublication(ctx context.Context, src config.Source) error {
	conn, err := pgx.Connect(ctx, src.DSN)
	if err != nil {
		return fmt.Errorf("create publication: %w", err)
	}
	defer conn.Close(context.Background())
	_, _, err = source.CreatePublication(ctx, conn, src.Publication, src.Tables)
	return err
}

// traffic writes sample changes: new users and orders, status updates,
// and the occasional cancellation (delete), rate transactions a second
// (checked by the caller: from minDemoRate to maxDemoRate).
func traffic(ctx context.Context, dsn string, rate float64, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	defer conn.Close(context.Background())
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	statuses := []string{"paid", "shipped"}
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var err error
		switch {
		case n%10 == 1:
			_, err = conn.Exec(ctx, `INSERT INTO users (email, name) VALUES ($1, $2)`,
				fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("User %d", n))
		case n%7 == 0:
			_, err = conn.Exec(ctx, `DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE status = 'new')`)
		case n%3 == 0:
			_, err = conn.Exec(ctx, `UPDATE orders SET status = $1 WHERE id = (SELECT max(id) FROM orders WHERE status < $1::order_status)`,
				statuses[rand.IntN(len(statuses))])
		default:
			_, err = conn.Exec(ctx, `INSERT INTO orders (user_id, total, items, tags)
SELECT max(id), $1, jsonb_build_array(jsonb_build_object('sku', $2::text, 'qty', $3::int)), ARRAY['demo', $2::text] FROM users`,
				fmt.Sprintf("%d.%02d", 5+rand.IntN(200), rand.IntN(100)), fmt.Sprintf("SKU-%03d", rand.IntN(1000)), 1+rand.IntN(5))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("demo traffic", "err", err)
		}
	}
}
