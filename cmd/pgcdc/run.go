package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/internal/wiring"
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
			cfg, log := l.cfg, newLogger(l.cfg.Log)
			l.logWarnings(log)
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
			limit := tuneMemory(cfg)
			ctx, stop := signalContext()
			defer stop()
			log.Info("memory", "limit_bytes", limit, "max_inflight_bytes", cfg.Pipeline.MaxInflightBytes)
			return runPipeline(ctx, cfg, l.path, log, stopAt, nil)
		},
	}
	addNameFlags(cmd)
	cmd.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile to this file (for performance work)")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	cmd.Flags().StringVar(&until, "until-lsn", "", "stop by itself once everything up to this WAL position (e.g. 0/16B3748) is delivered and confirmed")
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

// runPipeline wires source, transforms and sinks and runs them.
// configPath is the config file ("" for none), for the source's hints;
// stopAt, when not zero, stops the run once everything up to it is
// delivered (--until-lsn); listening, when not nil, is told the HTTP
// server's address once it listens (pgcdc demo prints its URLs).
//
// Everything that can fail without the database is built and bound first
// (the transforms, the sinks with their files, the HTTP listener), so that
// a mistake in the config never leaves a slot behind. Then the source
// prepares (it may create the slot and the publication), the configured
// filters are checked against the published tables, and the pipeline and
// the HTTP server run under one errgroup with one shutdown clock
// (pipeline.drain_timeout). A run that fails after Prepare but before
// streaming drops the slot and publication Prepare created.
func runPipeline(ctx context.Context, cfg *config.Config, configPath string, log *slog.Logger, stopAt pipeline.LSN, listening func(net.Addr)) (err error) {
	src, err := wiring.NewSource(cfg, configPath, log, stopAt)
	if err != nil {
		return err
	}
	// The sinks are built before anything touches the database, so that
	// what only this process can check (a dead-letter file that cannot be
	// written, TLS files that do not load, a port in use) fails first. The
	// catalog they are given is filled by Prepare.
	global, err := wiring.Transforms(cfg.Transforms)
	if err != nil {
		return withCode(exitConfig, err)
	}
	checks, err := wiring.FilterChecks(cfg)
	if err != nil {
		return withCode(exitConfig, err)
	}
	var server *httpserver.Server
	var authn *auth.Authenticator
	if wiring.NeedsServer(cfg) {
		if server, err = httpserver.New(cfg.Server, log); err != nil {
			return withCode(exitConfig, err)
		}
		// Cancelling ctx stops the key set refresh (jwks_url).
		if authn, err = wiring.Authenticator(ctx, cfg.Server, log); err != nil {
			return withCode(exitConfig, err)
		}
	}
	var walEnd func() pipeline.LSN
	if w, ok := src.(interface{ WALEnd() pipeline.LSN }); ok {
		walEnd = w.WALEnd // resume ids beyond the server's WAL end get a reset
	}
	var running atomic.Pointer[pipeline.Pipeline] // for /api/status
	sinkStatus := func() []pipeline.SinkStatus {
		if p := running.Load(); p != nil {
			return p.Status()
		}
		return nil
	}
	outs, err := wiring.Outputs(cfg, wiring.Deps{Log: log, Catalog: src.Catalog(), Stdout: os.Stdout, DB: wiring.Database(cfg.Source.DSN),
		Server: server, Auth: authn, Version: version, WALEnd: walEnd, SinkStatus: sinkStatus})
	if err != nil {
		return withCode(exitConfig, err)
	}
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
		addr, err := server.Listen()
		if err != nil {
			return fmt.Errorf("server.listen: %w", err)
		}
		if listening != nil {
			listening(addr)
		}
	}

	if err := src.Prepare(ctx); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if d, ok := src.(interface{ DropCreated(context.Context) error }); ok {
		defer func() {
			if err == nil {
				return
			}
			// A no-op once streaming started: the slot then holds
			// undelivered changes.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if derr := d.DropCreated(dctx); derr != nil {
				log.Warn("could not drop the slot and publication this run created", "err", derr)
			}
		}()
	}
	if authn != nil {
		// A forced scope filter on a column old rows do not carry would
		// scope deletes wrongly: refused, naming the ALTER TABLE.
		checks = append(checks, wiring.AuthCheck(authn))
	}
	guard, err := filterGuard(src.Catalog(), checks, log)
	if err != nil {
		return withCode(exitConfig, err)
	}

	stop := pipeline.NewShutdown(cfg.Pipeline.DrainTimeout)
	defer stop.Release()
	opts := wiring.PipelineOptions(cfg, log)
	opts.Shutdown, opts.Guard = stop, guard
	p := pipeline.New(src, global, outs, opts)
	running.Store(p)
	log.Info("pgcdc running", "version", version, "slot", cfg.Source.Slot, "publication", cfg.Source.Publication, "sinks", len(outs))

	// The server outlives the pipeline: the broadcast sinks send their last
	// events and end their streams when their input closes; then the
	// server shuts down within what is left of the same shutdown clock.
	g, gctx := errgroup.WithContext(ctx)
	if server != nil {
		g.Go(server.Serve)
	}
	g.Go(func() error {
		err := p.Run(gctx)
		if server != nil {
			stop.Begin()
			if serr := server.Shutdown(stop.Context()); serr != nil && err == nil {
				err = fmt.Errorf("http server: %w", serr)
			}
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if c, ok := src.(interface{ ConfirmedLSN() pipeline.LSN }); ok {
		log.Info("pgcdc stopped", "confirmed", c.ConfirmedLSN())
	} else {
		log.Info("pgcdc stopped")
	}
	return nil
}

// filterGuard checks the configured filters and projections against the
// published tables now (logging warnings, failing on errors), and returns
// the pipeline guard that checks them again whenever the catalog changed
// (a relation message: a column added, renamed or dropped, a new table),
// before the next batch is filtered.
func filterGuard(cat pipeline.Catalog, checks wiring.Checks, log *slog.Logger) (func() error, error) {
	warned := map[string]bool{}
	running := false
	run := func() error {
		warnings, err := checks.Run(cat, running)
		for _, w := range warnings {
			if !warned[w] {
				warned[w] = true
				log.Warn("filter does not fit every published table", "problem", w)
			}
		}
		return err
	}
	if err := run(); err != nil {
		return nil, err
	}
	running = true
	w, ok := cat.(pipeline.CatalogWatcher)
	if !ok || len(checks) == 0 {
		return nil, nil
	}
	var changed atomic.Bool
	w.Watch(func(pipeline.TableInfo) { changed.Store(true) })
	return func() error {
		if !changed.Swap(false) {
			return nil
		}
		if err := run(); err != nil {
			return withCode(exitConfig, fmt.Errorf("after a schema change: %w", err))
		}
		return nil
	}, nil
}
