package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/internal/demo"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

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
			if err := demo.CheckRate(rate); err != nil {
				return withCode(exitUsage, err)
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
	cmd.Flags().Float64Var(&rate, "rate", 5, fmt.Sprintf("transactions per second of sample traffic (%v to %v)", demo.MinRate, demo.MaxRate))
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the cluster directory after exit")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the SSE (/events) and WebSocket (/ws) endpoints")
	return cmd
}

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
	if err := demo.Setup(ctx, cluster, cfg.Source.Publication, cfg.Source.Tables); err != nil {
		return err
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
	go func() { trafficErr <- demo.Traffic(runCtx, cfg.Source.DSN, rate, log) }()
	if err := withAppError(app.Run(runCtx, cfg, app.Options{Log: log, Version: version})); err != nil {
		return err
	}
	cancel()
	if err := <-trafficErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
