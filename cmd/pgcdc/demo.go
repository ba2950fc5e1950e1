package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/internal/demo"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// demoFailRate is the share of webhook requests the demo's receiver
// answers 503.
const demoFailRate = 0.03

type demoOptions struct {
	rate     float64
	duration time.Duration
	keep     bool
	listen   string
	stdout   bool
	verbose  bool
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a throwaway PostgreSQL with a sample shop and live traffic, and show it on the dashboard",
		Long: `demo starts a throwaway PostgreSQL cluster from the installed server binaries
(initdb into a temporary directory, wal_level=logical, a free port), creates a
sample shop (customers, products, orders), writes live traffic into it (inserts,
updates, deletes, and now and then a transaction of 200 rows), and runs the
pipeline with the dashboard at /, an SSE sink at /events, a WebSocket sink at
/ws and a webhook sink to a receiver that fails 3% of requests (on --listen).
It prints the dashboard's URL first. Ctrl-C stops it and removes the cluster.

  curl -N 'http://127.0.0.1:8080/events?table=public.orders&op=insert'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := demo.CheckRate(o.rate); err != nil {
				return withCode(exitUsage, err)
			}
			if o.duration < 0 {
				return withCode(exitUsage, fmt.Errorf("--duration is %s, want 0 (until Ctrl-C) or a positive duration", o.duration))
			}
			// A second signal exits at once: the cluster goes with it.
			var cluster atomic.Pointer[pgcluster.Cluster]
			ctx, stop := signalContext(func() {
				if c := cluster.Load(); c != nil && !o.keep {
					_ = c.Stop(true)
					_ = os.RemoveAll(c.Dir)
				}
			})
			defer stop()
			if o.duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, o.duration)
				defer cancel()
			}
			return runDemo(ctx, o, cmd.OutOrStdout(), &cluster)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.rate, "rate", 5, fmt.Sprintf("transactions per second of sample traffic (%v to %v)", demo.MinRate, demo.MaxRate))
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.BoolVar(&o.keep, "keep", false, "keep the cluster directory after exit")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the dashboard (/), SSE (/events) and WebSocket (/ws)")
	f.BoolVar(&o.stdout, "stdout", false, "also print every event on stdout, one JSON line each")
	f.BoolVar(&o.verbose, "verbose", false, "log at level info (default: errors only)")
	return cmd
}

// runDemo runs the demo until ctx ends. It stores the cluster in started
// as soon as it runs, for the forced exit to remove it, and writes the
// URLs to out once the server listens.
func runDemo(ctx context.Context, o demoOptions, out io.Writer, started *atomic.Pointer[pgcluster.Cluster]) error {
	receiver, err := demo.StartReceiver(demoFailRate)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = receiver.Close(sctx)
	}()
	cfg := &config.Config{Server: config.Server{Listen: o.listen}, Sinks: []config.Sink{
		{Name: "live", Type: config.TypeSSE, Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
		{Name: "ws", Type: config.TypeWebSocket, Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
		{Name: "hooks", Type: config.TypeWebhook, Webhook: config.Webhook{URL: receiver.URL,
			Batch: config.Batch{MaxEvents: 100, MaxWait: 100 * time.Millisecond},
			Retry: config.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}},
	}}
	if o.stdout {
		cfg.Sinks = append(cfg.Sinks, config.Sink{Name: "stdout", Type: config.TypeStdout})
	}
	if !o.verbose {
		cfg.Log.Level = "error"
	}
	cfg.SetDefaults()
	log := newLogger(cfg.Log)
	log.Info("starting a throwaway PostgreSQL")
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	started.Store(cluster)
	if o.keep {
		defer func() {
			_ = cluster.Stop(false)
			fmt.Fprintf(os.Stderr, "pgcdc demo: cluster kept in %s\n", cluster.Dir)
		}()
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
	log.Info("PostgreSQL is up", "dsn", config.RedactDSN(cfg.Source.DSN))

	trafficErr := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { trafficErr <- demo.Traffic(runCtx, cfg.Source.DSN, o.rate, log) }()
	banner := func(addr net.Addr) {
		base := "http://" + addr.String()
		fmt.Fprintf(out, `pgcdc demo: the dashboard is at %s/

  SSE        curl -N '%s/events?table=public.orders'
  WebSocket  ws://%s/ws
  status     curl %s/api/status
  psql       psql -h %s -p %d -U postgres
  webhook    %s (answers 503 to %.0f%% of requests: retries show in the health panel)
  traffic    %v transactions/s into public.customers, products and orders

Ctrl-C stops it and removes the cluster.
`, base, base, addr, base, cluster.Dir, cluster.Port, receiver.URL, demoFailRate*100, o.rate)
	}
	if err := withAppError(app.Run(runCtx, cfg, app.Options{Log: log, Version: version, Listening: banner})); err != nil {
		return err
	}
	cancel()
	if err := <-trafficErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
