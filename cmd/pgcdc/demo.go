package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/demo"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

func newDemoCmd() *cobra.Command {
	var (
		o        demo.Options
		duration time.Duration
	)
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
			if err := demo.CheckRate(o.Rate); err != nil {
				return withCode(exitUsage, err)
			}
			if duration < 0 {
				return withCode(exitUsage, fmt.Errorf("--duration is %s, want 0 (until Ctrl-C) or a positive duration", duration))
			}
			// A second signal exits at once: the cluster goes with it.
			var cluster atomic.Pointer[pgcluster.Cluster]
			ctx, stop := signalContext(func() {
				if c := cluster.Load(); c != nil && !o.Keep {
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
			o.Version = version
			return withAppError(demo.Run(ctx, o, cmd.OutOrStdout(), &cluster))
		},
	}
	f := cmd.Flags()
	f.Float64Var(&o.Rate, "rate", 5, fmt.Sprintf("transactions per second of sample traffic (%v to %v)", demo.MinRate, demo.MaxRate))
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	f.BoolVar(&o.Keep, "keep", false, "keep the cluster directory after exit")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address of the dashboard (/), SSE (/events) and WebSocket (/ws)")
	f.BoolVar(&o.Stdout, "stdout", false, "also print every event on stdout, one JSON line each")
	f.BoolVar(&o.Verbose, "verbose", false, "log at level info (default: errors only)")
	return cmd
}
