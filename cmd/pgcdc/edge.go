package main

import (
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
)

func newEdgeCmd() *cobra.Command {
	var profile string
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "Serve and deliver the changes of a NATS JetStream stream (source.type: nats)",
		Long: `edge reads the stream that a pgcdc run's nats sink writes, instead of
PostgreSQL, and runs the same transforms and sinks. The live sinks (sse,
websocket, stdout) share one pipeline; every webhook sink has a pipeline and a
stored position of its own, so that a slow or failing receiver stalls only
itself. Run as many edges as you need.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadConfig(cmd, config.NeedSinks)
			if err != nil {
				return err
			}
			cfg, log := l.cfg, app.NewLogger(l.cfg.Log)
			l.logWarnings(log)
			if err := app.CheckEdgeConfig(cfg); err != nil {
				return withCode(exitConfig, err)
			}
			_, done, err := startProcess(cfg, log, profile)
			if err != nil {
				return err
			}
			defer done()
			ctx, stop := signalContext()
			defer stop()
			return withAppError(app.Edge(ctx, cfg, app.Options{Log: log, Version: version}))
		},
	}
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile to this file (for performance work)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}
