// Package app is what `pgcdc run` (and `pgcdc demo`) does with a
// validated config: build every part (internal/wiring), bind what can fail
// before the database is touched, prepare the source, check the filters
// against the published tables, and run the pipeline and the HTTP server
// under one errgroup and one shutdown clock. cmd/pgcdc keeps only the
// command line.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/internal/ha"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Options are what a run needs besides the config.
type Options struct {
	Log *slog.Logger
	// ConfigPath is the config file ("" for none), for the hints of the
	// source's errors.
	ConfigPath string
	// StopAt, when not zero, stops the run once everything up to it is
	// delivered (--until-lsn).
	StopAt  pipeline.LSN
	Version string
	// Listening, when not nil, is told the HTTP server's address once it
	// listens (pgcdc demo prints its URLs).
	Listening func(net.Addr)
}

// ConfigError marks an error the configuration is at fault for (cmd exits
// 78 with it).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configError(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{err}
}

// Run wires source, transforms and sinks and runs them until ctx ends
// (then drains and confirms) or one of them fails.
//
// Everything that can fail without the database is built and bound first
// (the transforms, the sinks with their files, the HTTP listener), so that
// a mistake in the config never leaves a slot behind. Then the source
// prepares (it may create the slot and the publication), the configured
// filters are checked against the published tables, and the pipeline and
// the HTTP server run under one errgroup with one shutdown clock
// (pipeline.drain_timeout). A run that fails after Prepare but before
// streaming drops the slot and publication Prepare created.
func Run(ctx context.Context, cfg *config.Config, o Options) (err error) {
	log, configPath, stopAt, version := o.Log, o.ConfigPath, o.StopAt, o.Version
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
		return configError(err)
	}
	checks, err := wiring.FilterChecks(cfg)
	if err != nil {
		return configError(err)
	}
	server, authn, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
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
		Server: server, Auth: authn, Version: version, WALEnd: walEnd, Snapshot: wiring.ClientSnapshots(src), SinkStatus: sinkStatus})
	if err != nil {
		return configError(err)
	}
	outs = ha.GateOutputs(ctx, outs) // under ha: acks count only while the lease is valid
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
		if o.Listening != nil {
			o.Listening(addr)
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
		return configError(err)
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
		server.Open() // before the goroutine: /readyz stops saying "starting" now
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
			return configError(fmt.Errorf("after a schema change: %w", err))
		}
		return nil
	}, nil
}

// newServer builds the HTTP server and the authenticator when cfg needs
// them (nil, nil otherwise). Cancelling ctx stops the key set refresh
// (jwks_url).
func newServer(ctx context.Context, cfg *config.Config, log *slog.Logger) (*httpserver.Server, *auth.Authenticator, error) {
	if !wiring.NeedsServer(cfg) {
		return nil, nil, nil
	}
	server, err := httpserver.New(cfg.Server, log)
	if err != nil {
		return nil, nil, configError(err)
	}
	authn, err := wiring.Authenticator(ctx, cfg.Server, log)
	if err != nil {
		return nil, nil, configError(err)
	}
	return server, authn, nil
}
