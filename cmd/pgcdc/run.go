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
			cfg, _, err := loadConfig(cmd)
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
			return runPipeline(ctx, cfg, newLogger(cfg.Log), stopAt)
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
// stopAt, when not zero, stops the run once everything up to it is
// delivered (--until-lsn).
func runPipeline(ctx context.Context, cfg *config.Config, log *slog.Logger, stopAt pipeline.LSN) error {
	conn, err := source.NewConnector(cfg.Source.DSN)
	if err != nil {
		return err
	}
	scfg := wiring.SourceConfig(cfg)
	scfg.StopAt = stopAt
	src := source.New(conn, scfg, log)
	if err := src.Prepare(ctx); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	global, err := wiring.Transforms(cfg.Transforms)
	if err != nil {
		return withCode(exitConfig, err)
	}
	var server *httpserver.Server
	if wiring.NeedsServer(cfg) {
		server = httpserver.New(cfg.Server, log)
	}
	outs, err := wiring.Outputs(cfg, wiring.Deps{Log: log, Catalog: src.Catalog(), Stdout: os.Stdout, DB: conn.Database(),
		Server: server, Version: version})
	if err != nil {
		return withCode(exitConfig, err)
	}
	serverDone := make(chan error, 1)
	if server != nil {
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
		if _, err := server.Listen(); err != nil {
			return fmt.Errorf("server.listen: %w", err)
		}
		// The server outlives the pipeline: the broadcast sinks send their
		// last events and close their streams when their input closes,
		// then the server shuts down.
		go func() { serverDone <- server.Serve() }()
	}

	p := pipeline.New(src, global, outs, wiring.PipelineOptions(cfg, log))
	log.Info("pgcdc running", "version", version, "slot", cfg.Source.Slot, "publication", cfg.Source.Publication, "sinks", len(outs))
	runErr := p.Run(ctx)
	if server != nil {
		// TODO(lead): one deadline derived from pipeline.drain_timeout for
		// the whole shutdown; the server gets what is left of it.
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Pipeline.DrainTimeout)
		if err := server.Shutdown(sctx); err != nil && runErr == nil {
			runErr = err
		}
		cancel()
		if err := <-serverDone; err != nil && runErr == nil {
			runErr = fmt.Errorf("http server: %w", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	log.Info("pgcdc stopped", "confirmed", src.ConfirmedLSN())
	return nil
}
