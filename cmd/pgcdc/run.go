package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

func newRunCmd() *cobra.Command {
	var until, profile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Stream the slot through the pipeline until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var stopAt pipeline.LSN
			if until != "" {
				if stopAt, err = pipeline.ParseLSN(until); err != nil {
					return withCode(exitUsage, fmt.Errorf("--until-lsn: %w", err))
				}
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if os.Getenv("GOGC") == "" {
				// The live heap is small and bounded by the in-flight byte
				// budget; collecting less often buys throughput for little
				// memory.
				debug.SetGCPercent(300)
			}
			ctx, stop := signalContext()
			defer stop()
			return runPipeline(ctx, cfg, path, newLogger(cfg.Log), stopAt)
		},
	}
	addNameFlags(cmd)
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile to this file (for performance work)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&until, "until-lsn", "", "stop by itself once everything up to this WAL position (e.g. 0/16B3748) is delivered and confirmed")
	return cmd
}

// signalContext is cancelled by the first SIGINT/SIGTERM (graceful drain);
// a second one exits at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "pgcdc: second signal, exiting without draining")
		os.Exit(exitError)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// runPipeline wires source, transforms and sinks and runs them.
// configPath is the config file, for hints; stopAt, when not zero, stops
// the run once everything up to it is delivered (--until-lsn).
func runPipeline(ctx context.Context, cfg *config.Config, configPath string, log *slog.Logger, stopAt pipeline.LSN) (err error) {
	conn, err := source.NewConnector(cfg.Source.DSN)
	if err != nil {
		return err
	}
	scfg := wiring.SourceConfig(cfg)
	scfg.StopAt, scfg.ConfigPath = stopAt, configPath
	src := source.New(conn, scfg, log)
	if err := src.Prepare(ctx); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer func() {
		// A run that fails before streaming drops the slot and publication
		// it created (a no-op once streaming started).
		if err != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if derr := src.DropCreated(dctx); derr != nil {
				log.Warn("could not drop what this run created", "err", derr)
			}
		}
	}()
	global, err := wiring.Transforms(cfg.Transforms)
	if err != nil {
		return withCode(exitConfig, err)
	}
	server := httpserver.New(cfg.Server, log)
	outs, err := wiring.Outputs(cfg, wiring.Deps{Log: log, Catalog: src.Catalog(), Stdout: os.Stdout, DB: conn.Database(),
		Server: server, Drain: cfg.Pipeline.DrainTimeout, Version: version})
	if err != nil {
		return withCode(exitConfig, err)
	}
	server.AddReadyCheck("replication", func() error {
		if !src.Ready() {
			return errors.New("replication connection is not streaming")
		}
		return nil
	})
	for _, o := range outs {
		if r, ok := o.Sink.(pipeline.Readier); ok {
			server.AddReadyCheck("sink "+o.Sink.Name(), func() error {
				if !r.Ready() {
					return errors.New("not running")
				}
				return nil
			})
		}
	}
	addr, err := server.Listen()
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	log.Info("http server listening", "addr", addr.String())
	// The server outlives the pipeline: the broadcast sinks send their last
	// events and close their streams when their input closes, then the
	// server stops.
	serverCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	serverDone := make(chan error, 1)
	go func() { serverDone <- server.Run(serverCtx) }()

	p := pipeline.New(src, global, outs, wiring.PipelineOptions(cfg, log))
	log.Info("pgcdc running", "version", version, "slot", cfg.Source.Slot, "publication", cfg.Source.Publication, "sinks", len(outs))
	runErr := p.Run(ctx)
	stopServer()
	if err := <-serverDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("http server: %w", err)
	}
	if runErr != nil {
		return runErr
	}
	log.Info("pgcdc stopped", "confirmed", src.ConfirmedLSN())
	return nil
}
