package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/bench"
	"github.com/pgcdc/pgcdc/internal/bench/live"
)

// newBenchCmd is `pgcdc bench` and `pgcdc bench live`: the flags here, the
// work in internal/bench and internal/bench/live.
func newBenchCmd() *cobra.Command {
	var o bench.Options
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
			if o.Sink != "webhook" && cmd.Flags().Changed("max-events") {
				return withCode(exitUsage, errors.New("--max-events and --sign apply to --sink webhook only"))
			}
			if err := o.Validate(); err != nil {
				return withCode(exitUsage, err)
			}
			return bench.Run(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.AddCommand(newBenchLiveCmd())
	f := cmd.Flags()
	f.IntVar(&o.Rows, "rows", 1_000_000, "rows to insert")
	f.IntVar(&o.TxnRows, "txn-rows", 1000, "rows per transaction")
	f.IntVar(&o.Repeat, "repeat", 1, "drain runs of each tool, alternating")
	f.StringVar(&o.Sink, "sink", "stdout", "pgcdc's sink: stdout (to /dev/null) or webhook (a local receiver)")
	f.IntVar(&o.MaxEvents, "max-events", 500, "webhook batch.max_events: events per request")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write pgcdc run's CPU profile of the last repeat here")
	_ = f.MarkHidden("cpuprofile")
	f.BoolVar(&o.Sign, "sign", false, "webhook: sign requests (Standard Webhooks) and verify them in the receiver")
	return cmd
}

func newBenchLiveCmd() *cobra.Command {
	var o live.Options
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
			if o.Protos, err = live.ParseProtos(proto); err != nil {
				return withCode(exitUsage, err)
			}
			if o.Clients, err = live.ParseClients(clients); err != nil {
				return withCode(exitUsage, err)
			}
			if err := o.Validate(); err != nil {
				return withCode(exitUsage, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = live.Run(ctx, cmd.OutOrStdout(), o)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&proto, "proto", "both", "sse, websocket or both (one after the other)")
	f.StringVar(&clients, "clients", "1000", "clients per run; a comma list runs a sweep (1000,2000,5000,10000)")
	f.IntVar(&o.Rate, "rate", 1000, "committed single-row transactions per second")
	f.IntVar(&o.Writers, "writers", 4, "writer connections sharing --rate")
	f.DurationVar(&o.Duration, "duration", 20*time.Second, "measured time per run, after the warmup")
	f.DurationVar(&o.Warmup, "warmup", 3*time.Second, "traffic before the measured window; its events are not measured")
	f.DurationVar(&o.Drain, "drain", 30*time.Second, "longest wait for the clients to catch up once the writer stops")
	f.StringVar(&o.Binary, "binary", "", "the pgcdc executable to measure (default: this one)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write the pgcdc child's CPU profile here (the last run's)")
	_ = f.MarkHidden("cpuprofile")
	return cmd
}
