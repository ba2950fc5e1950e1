package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/sse"
	"github.com/pgcdc/pgcdc/sinks/stdout"
	"github.com/pgcdc/pgcdc/sinks/webhook"
	"github.com/pgcdc/pgcdc/sinks/ws"
	"github.com/pgcdc/pgcdc/source"
)

// deps are what sink constructors may need from the rest of the process.
type deps struct {
	log     *slog.Logger
	catalog pipeline.Catalog
	stdout  io.Writer
	db      string // database name, for CloudEvents sources
	server  *httpserver.Server
	drain   time.Duration
}

// transforms builds the global transform chain.
func transforms(ts []config.Transform) (pipeline.Transform, error) {
	var chain pipeline.Chain
	for i, t := range ts {
		step, err := filterProject(t.Filter, t.Project)
		if err != nil {
			return nil, fmt.Errorf("transforms[%d]: %w", i, err)
		}
		chain = append(chain, step...)
	}
	if len(chain) == 0 {
		return nil, nil
	}
	return chain, nil
}

// filterProject builds a filter then a projection, either may be nil.
func filterProject(f *config.Filter, p *config.Project) (pipeline.Chain, error) {
	var chain pipeline.Chain
	if f != nil {
		flt, err := transform.NewFilter(transform.FilterSpec{Tables: f.Tables, ExcludeTables: f.ExcludeTables, Ops: f.Ops, Where: f.Where})
		if err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
		chain = append(chain, flt)
	}
	if p != nil {
		prj, err := transform.NewProject(transform.ProjectSpec{Tables: p.Tables, Include: p.Include, Exclude: p.Exclude})
		if err != nil {
			return nil, fmt.Errorf("project: %w", err)
		}
		chain = append(chain, prj)
	}
	return chain, nil
}

// outputs builds every configured sink with its own transforms.
func outputs(cfg *config.Config, d deps) ([]pipeline.Output, error) {
	outs := make([]pipeline.Output, 0, len(cfg.Sinks))
	for i, sc := range cfg.Sinks {
		sink, err := buildSink(sc, d)
		if err != nil {
			return nil, fmt.Errorf("sinks[%d] (%s): %w", i, sc.Name, err)
		}
		chain, err := filterProject(sc.Filter, sc.Project)
		if err != nil {
			return nil, fmt.Errorf("sinks[%d] (%s): %w", i, sc.Name, err)
		}
		var t pipeline.Transform
		if len(chain) > 0 {
			t = chain
		}
		outs = append(outs, pipeline.Output{Sink: sink, Transform: t})
	}
	return outs, nil
}

func buildSink(sc config.Sink, d deps) (pipeline.Sink, error) {
	switch sc.Type {
	case "stdout":
		return stdout.New(sc.Name, d.stdout), nil
	case "webhook":
		return webhook.New(sc, d.log, webhook.WithDatabase(d.db), webhook.WithVersion(version))
	case "sse", "websocket":
		var sink interface {
			pipeline.Sink
			http.Handler
		}
		var err error
		if sc.Type == "sse" {
			sink, err = sse.New(sc, d.catalog, d.log, sse.WithDrainTimeout(d.drain))
		} else {
			sink, err = ws.New(sc, d.catalog, d.log, ws.WithDrainTimeout(d.drain))
		}
		if err != nil {
			return nil, err
		}
		if err := d.server.Handle(sc.Path, sink); err != nil {
			return nil, err
		}
		return sink, nil
	}
	return nil, fmt.Errorf("sink type %q is not available in this build", sc.Type)
}

// sourceConfig maps the config to the source's settings.
func sourceConfig(cfg *config.Config) source.Config {
	s := cfg.Source
	return source.Config{
		Slot: s.Slot, Publication: s.Publication, Tables: s.Tables, Create: s.Create,
		StatusInterval:   s.StatusInterval,
		ReconnectInitial: s.Reconnect.Initial, ReconnectMax: s.Reconnect.Max, ReconnectMaxElapsed: s.Reconnect.MaxElapsed,
		BatchEvents: cfg.Pipeline.BatchEvents,
	}
}

func pipelineOptions(cfg *config.Config, log *slog.Logger) pipeline.Options {
	p := cfg.Pipeline
	return pipeline.Options{SinkQueue: p.SinkQueue, MaxInflightBytes: p.MaxInflightBytes, DrainTimeout: p.DrainTimeout, Logger: log}
}
