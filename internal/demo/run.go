package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// FailRate is the share of webhook requests the demo's receiver answers
// 503.
const FailRate = 0.03

// Options are the demo's command-line settings.
type Options struct {
	Rate    float64 // transactions per second of sample traffic
	Keep    bool    // keep the cluster directory after exit
	Listen  string  // address of the dashboard, /events and /ws
	Stdout  bool    // also print every event on stdout
	Verbose bool    // log at level info (default: errors only)
	Version string  // the build's version, for the logs and /api/status
}

// Run runs the demo until ctx ends: a throwaway cluster with the sample
// shop, its traffic, and a pipeline with the dashboard, SSE, WebSocket and
// a webhook to a receiver that fails now and then. It stores the cluster
// in started as soon as it runs, for a forced exit to remove it, and
// writes the URLs to out once the server listens.
func Run(ctx context.Context, o Options, out io.Writer, started *atomic.Pointer[pgcluster.Cluster]) error {
	receiver, err := StartReceiver(FailRate)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = receiver.Close(sctx)
	}()
	cfg := &config.Config{Server: config.Server{Listen: o.Listen}, Sinks: []config.Sink{
		{Name: "live", Type: config.TypeSSE, Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
		{Name: "ws", Type: config.TypeWebSocket, Broadcast: config.Broadcast{AllowedOrigins: []string{"*"}}},
		{Name: "hooks", Type: config.TypeWebhook, Webhook: config.Webhook{URL: receiver.URL,
			Batch: config.Batch{MaxEvents: 100, MaxWait: 100 * time.Millisecond},
			Retry: config.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}},
	}}
	if o.Stdout {
		cfg.Sinks = append(cfg.Sinks, config.Sink{Name: "stdout", Type: config.TypeStdout})
	}
	if !o.Verbose {
		cfg.Log.Level = "error"
	}
	cfg.SetDefaults()
	log := app.NewLogger(cfg.Log)
	log.Info("starting a throwaway PostgreSQL")
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return err
	}
	started.Store(cluster)
	if o.Keep {
		defer func() {
			_ = cluster.Stop(false)
			fmt.Fprintf(os.Stderr, "pgcdc demo: cluster kept in %s\n", cluster.Dir)
		}()
	} else {
		defer cluster.Cleanup()
	}
	if err := Setup(ctx, cluster, cfg.Source.Publication, cfg.Source.Tables); err != nil {
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
	go func() { trafficErr <- Traffic(runCtx, cfg.Source.DSN, o.Rate, log) }()
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
`, base, base, addr, base, cluster.Dir, cluster.Port, receiver.URL, FailRate*100, o.Rate)
	}
	if err := app.Run(runCtx, cfg, app.Options{Log: log, Version: o.Version, Listening: banner}); err != nil {
		return err
	}
	cancel()
	if err := <-trafficErr; err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
