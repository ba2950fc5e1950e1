package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/bench"
	"github.com/pgcdc/pgcdc/internal/bench/live"
)

// newBenchCmd is `pgcdc bench` and `pgcdc bench live`; the flags, their
// checks and the work are in internal/bench and internal/bench/live.
func newBenchCmd() *cobra.Command {
	var o bench.Options
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure pgcdc run (stdout to /dev/null, or a local webhook) against pg_recvlogical on the same workload",
		Long:  bench.Help,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Sink != "webhook" && cmd.Flags().Changed("max-events") {
				return withCode(exitUsage, errors.New("--max-events and --sign apply to --sink webhook only"))
			}
			if err := o.Validate(); err != nil {
				return withCode(exitUsage, err)
			}
			return bench.Run(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(newBenchLiveCmd())
	return cmd
}

func newBenchLiveCmd() *cobra.Command {
	var o live.Options
	cmd := &cobra.Command{
		Use:   "live",
		Short: "Measure commit-to-client latency of the SSE and WebSocket sinks with many clients",
		Long:  live.Help,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return withCode(exitUsage, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := live.Run(ctx, cmd.OutOrStdout(), o)
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
