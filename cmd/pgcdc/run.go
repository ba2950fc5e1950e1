package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/pipeline"
)

func newRunCmd() *cobra.Command {
	var until, profile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Stream the slot through the pipeline until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadConfig(cmd, config.NeedAll)
			if err != nil {
				return err
			}
			cfg, log := l.cfg, app.NewLogger(l.cfg.Log)
			l.logWarnings(log)
			var stopAt pipeline.LSN
			if until != "" {
				if stopAt, err = pipeline.ParseLSN(until); err != nil {
					return withCode(exitUsage, fmt.Errorf("--until-lsn: %w", err))
				}
			}
			limit, done, err := startProcess(cfg, log, profile)
			if err != nil {
				return err
			}
			defer done()
			ctx, stop := signalContext()
			defer stop()
			log.Info("memory", "limit_bytes", limit, "max_inflight_bytes", cfg.Pipeline.MaxInflightBytes)
			return app.Lead(ctx, cfg, log, func(ctx context.Context) error {
				return withAppError(app.Run(ctx, cfg, app.Options{Log: log, ConfigPath: l.path, StopAt: stopAt, Version: version}))
			})
		},
	}
	addNameFlags(cmd)
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile to this file (for performance work)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&until, "until-lsn", "", "stop by itself once every transaction whose commit ends at or before this WAL position (e.g. 0/16B3748) is delivered and confirmed")
	return cmd
}

// signalContext is cancelled by the first SIGINT/SIGTERM (graceful drain);
// a second one runs beforeExit and exits at once.
func signalContext(beforeExit ...func()) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "pgcdc: second signal, exiting without draining")
		for _, f := range beforeExit {
			f()
		}
		os.Exit(exitError)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// withAppError gives a run's config errors exit code 78.
func withAppError(err error) error {
	var ce *app.ConfigError
	if errors.As(err, &ce) {
		return withCode(exitConfig, ce.Err)
	}
	return err
}

// startProcess does what run and edge do before their work: a CPU profile
// when asked for, the memory settings (it returns the limit in force) and
// the embedded NATS server when configured. done undoes it.
func startProcess(cfg *config.Config, log *slog.Logger, profile string) (limit int64, done func(), err error) {
	var undo []func()
	done = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return 0, nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return 0, nil, err
		}
		undo = append(undo, func() { pprof.StopCPUProfile(); f.Close() })
	}
	limit = app.TuneMemory(cfg)
	stopNATS, err := app.StartEmbedded(cfg, log)
	if err != nil {
		done()
		return 0, nil, err
	}
	undo = append(undo, stopNATS)
	return limit, done, nil
}
