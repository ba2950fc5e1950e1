package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
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
			ctx, stop := signalContext()
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, rate, keep, listen)
		},
	}
	cmd.Flags().Float64Var(&rate, "rate", 5, "transactions per second of sample traffic")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the cluster directory after exit")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the SSE (/events) and WebSocket (/ws) endpoints")
	return cmd
}

func runDemo(ctx context.Context, rate float64, keep bool, listen string) error {
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
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	log.Info("PostgreSQL is up", "dsn", config.RedactDSN(cfg.Source.DSN), "psql", fmt.Sprintf("psql -h %s -p %d -U postgres", cluster.Dir, cluster.Port))

	trafficErr := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { trafficErr <- traffic(runCtx, cfg.Source.DSN, rate, log) }()
	if err := runPipeline(runCtx, cfg, "", log, 0); err != nil {
		return err
	}
	cancel()
	if err := <-trafficErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// traffic writes sample changes: new users and orders, status updates,
// and the occasional cancellation (delete), rate transactions a second.
func traffic(ctx context.Context, dsn string, rate float64, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	defer conn.Close(context.Background())
	if rate <= 0 {
		rate = 5
	}
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
