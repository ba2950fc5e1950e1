// Package wiring builds a pipeline's parts from a validated config: the
// global transforms, each sink with its own filter and projection, and the
// settings of the source and the pipeline. It is the one place where
// config.* values become the typed settings of the packages that run them;
// every command that runs a pipeline (run, demo) uses it.
package wiring

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

// Deps are what sink constructors may need from the rest of the process.
type Deps struct {
	Log     *slog.Logger
	Catalog pipeline.Catalog
	Stdout  io.Writer
	DB      string // database name, for CloudEvents sources
	Server  *httpserver.Server
	Drain   time.Duration
	Version string // for the webhook User-Agent
}

// Transforms builds the global transform chain (nil when there is none).
func Transforms(ts []config.Transform) (pipeline.Transform, error) {
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

// Outputs builds every configured sink with its own transforms.
func Outputs(cfg *config.Config, d Deps) ([]pipeline.Output, error) {
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

func buildSink(sc config.Sink, d Deps) (pipeline.Sink, error) {
	switch sc.Type {
	case "stdout":
		return stdout.New(sc.Name, d.Stdout), nil
	case "webhook":
		return webhook.New(sc, d.Log, webhook.WithDatabase(d.DB), webhook.WithVersion(d.Version))
	case "sse", "websocket":
		var sink interface {
			pipeline.Sink
			http.Handler
		}
		var err error
		if sc.Type == "sse" {
			sink, err = sse.New(sc, d.Catalog, d.Log, sse.WithDrainTimeout(d.Drain))
		} else {
			sink, err = ws.New(sc, d.Catalog, d.Log, ws.WithDrainTimeout(d.Drain))
		}
		if err != nil {
			return nil, err
		}
		if err := d.Server.Handle(sc.Path, sink); err != nil {
			return nil, err
		}
		return sink, nil
	}
	return nil, fmt.Errorf("sink type %q is not available in this build", sc.Type)
}

// SourceConfig maps the config to the replication source's settings.
func SourceConfig(cfg *config.Config) source.Config {
	s := cfg.Source
	return source.Config{
		Slot: s.Slot, Publication: s.Publication, Tables: s.Tables, Create: s.Create,
		StatusInterval:   s.StatusInterval,
		ReconnectInitial: s.Reconnect.Initial, ReconnectMax: s.Reconnect.Max, ReconnectMaxElapsed: s.Reconnect.MaxElapsed,
		BatchEvents:     cfg.Pipeline.BatchEvents,
		RetainedWALWarn: s.RetainedWALWarn,
	}
}

// PipelineOptions maps the config to the pipeline's settings.
func PipelineOptions(cfg *config.Config, log *slog.Logger) pipeline.Options {
	p := cfg.Pipeline
	return pipeline.Options{SinkQueue: p.SinkQueue, MaxInflightBytes: p.MaxInflightBytes, DrainTimeout: p.DrainTimeout, Logger: log}
}
