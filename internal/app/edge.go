package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/pipeline"
	natssource "github.com/pgcdc/pgcdc/source/nats"
)

// CheckEdgeConfig refuses what an edge cannot run.
func CheckEdgeConfig(cfg *config.Config) error {
	if cfg.Source.Type != config.SourceNATS {
		return fmt.Errorf("source.type: pgcdc edge reads a NATS stream: set source.type: nats and source.nats.url (pgcdc run reads PostgreSQL)")
	}
	for i, s := range cfg.Sinks {
		if s.Type == config.TypeNATS {
			return fmt.Errorf("sinks[%d].type: an edge cannot write to a nats stream (it reads one): use pgcdc run for that", i)
		}
	}
	return nil
}

// edgePipeline is one source with its sinks: the live one, or one per
// durable sink.
type edgePipeline struct {
	name string
	src  *natssource.Source
	cfg  config.Config // cfg.Sinks: this pipeline's sinks only
	outs []pipeline.Output
}

// Edge runs the live pipeline and one pipeline per webhook sink, and
// the HTTP server, under one errgroup and one shutdown clock. The server
// starts answering once the live sinks' replay rings hold the stream's
// last events (bounded by 30s), so that a client that reconnects after
// an edge restart resumes from its last id instead of getting a reset.
func Edge(ctx context.Context, cfg *config.Config, o Options) error {
	log := o.Log
	if err := CheckEdgeConfig(cfg); err != nil {
		return configError(err)
	}
	global, err := wiring.Transforms(cfg.Transforms)
	if err != nil {
		return configError(err)
	}
	server, authn, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	var pipes []*edgePipeline
	live := &edgePipeline{name: "live", cfg: *cfg}
	live.cfg.Sinks = nil
	warm := 0
	for _, s := range cfg.Sinks {
		if s.Type == config.TypeWebhook {
			p := &edgePipeline{name: s.Name, cfg: *cfg, src: wiring.EdgeSource(cfg, log, s.Name, 0)}
			p.cfg.Sinks = []config.Sink{s}
			pipes = append(pipes, p)
			continue
		}
		live.cfg.Sinks = append(live.cfg.Sinks, s)
		warm = max(warm, s.Replay.MaxEvents)
	}
	if len(live.cfg.Sinks) > 0 {
		live.src = wiring.EdgeSource(cfg, log, "", warm)
		pipes = append([]*edgePipeline{live}, pipes...)
	}
	for _, p := range pipes {
		deps := wiring.Deps{Log: log, Catalog: p.src.Catalog(), Stdout: os.Stdout,
			Server: server, Auth: authn, Version: o.Version}
		if p == live {
			// A client resuming from an id older than the replay ring
			// reads the events in between from the stream.
			// The stream is opened by Prepare, before the server serves.
			src := p.src
			deps.Backfill = func(ctx context.Context, after, before string, fn func(*pipeline.Event) error) error {
				return src.Reader().Backfill(ctx, after, before, fn)
			}
		}
		p.outs, err = wiring.Outputs(&p.cfg, deps)
		if err != nil {
			return configError(err)
		}
		if server == nil {
			continue
		}
		src := p.src
		server.AddReadyCheck("stream "+p.name, func() error {
			if !src.Ready() {
				return errors.New("not reading the stream")
			}
			return nil
		})
		for _, o := range p.outs {
			if r, ok := o.Sink.(pipeline.Readier); ok {
				server.AddReadyCheck("sink "+o.Sink.Name(), func() error {
					if !r.Ready() {
						return errors.New("not running")
					}
					return nil
				})
			}
		}
	}
	if server != nil {
		if _, err := server.Listen(); err != nil {
			return fmt.Errorf("server.listen: %w", err)
		}
	}
	for _, p := range pipes {
		if err := p.src.Prepare(ctx); err != nil {
			if ctx.Err() != nil { // stopped while waiting for NATS or the stream: as asked
				log.Info("stopped before the stream was found", "reason", err)
				return nil
			}
			return fmt.Errorf("source: %w", err)
		}
	}
	// The configured filters and projections are checked against the
	// tables the writer published (its catalog in the stream's bucket),
	// now and whenever that catalog changes, as run checks them against
	// the database: a misspelt column stops the edge instead of dropping
	// every change. Every pipeline reads the same catalog: the first one
	// watches it for all.
	checks, err := wiring.FilterChecks(cfg)
	if err != nil {
		return configError(err)
	}
	if authn != nil {
		checks = append(checks, wiring.AuthCheck(authn))
	}
	var guard func() error
	if len(pipes) > 0 {
		if guard, err = filterGuard(pipes[0].src.Catalog(), checks, log); err != nil {
			return configError(err)
		}
	}

	stop := pipeline.NewShutdown(cfg.Pipeline.DrainTimeout)
	defer stop.Release()
	g, gctx := errgroup.WithContext(ctx)
	var pg errgroup.Group // the pipelines, for the server to outlive
	for i, p := range pipes {
		opts := wiring.PipelineOptions(cfg, log.With("pipeline", p.name))
		opts.Shutdown = stop
		if i == 0 {
			opts.Guard = guard
		}
		pl := pipeline.New(p.src, global, p.outs, opts)
		pg.Go(func() error { return pl.Run(gctx) })
	}
	if server != nil {
		g.Go(func() error {
			if live.src != nil {
				t := time.NewTimer(30 * time.Second)
				select {
				case <-live.src.CaughtUp():
				case <-t.C:
					log.Warn("the live sinks are still catching up with the stream after 30s; serving anyway")
				case <-gctx.Done():
					t.Stop()
					return nil
				}
				t.Stop()
			}
			return server.Serve()
		})
	}
	g.Go(func() error {
		// The server outlives the pipelines: the broadcast sinks end their
		// streams when their input closes; then it shuts down within what
		// is left of the same shutdown clock.
		err := pg.Wait()
		if server != nil {
			stop.Begin()
			if serr := server.Shutdown(stop.Context()); serr != nil && err == nil {
				err = fmt.Errorf("http server: %w", serr)
			}
		}
		return err
	})
	log.Info("pgcdc edge running", "version", o.Version, "stream", cfg.Source.NATS.Stream, "pipelines", len(pipes), "sinks", len(cfg.Sinks))
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("pgcdc edge stopped")
	return nil
}
