// Package wiring builds a pipeline's parts from a validated config: the
// global transforms, each sink with its own filter and projection, and the
// settings of the source and the pipeline. It is the one place where
// config.* values become the typed settings of the packages that run them;
// every command that runs a pipeline (run, demo) uses it.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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
	"github.com/pgcdc/pgcdc/source/listen"
	"github.com/pgcdc/pgcdc/source/triggers"
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
	case config.TypeStdout:
		return stdout.New(sc.Name, d.Stdout), nil
	case config.TypeWebhook:
		wc, err := WebhookConfig(sc)
		if err != nil {
			return nil, err
		}
		return webhook.New(wc, d.Log, webhook.WithDatabase(d.DB), webhook.WithVersion(d.Version))
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
		BatchEvents: cfg.Pipeline.BatchEvents,
	}
}

// PipelineOptions maps the config to the pipeline's settings.
func PipelineOptions(cfg *config.Config, log *slog.Logger) pipeline.Options {
	p := cfg.Pipeline
	return pipeline.Options{SinkQueue: p.SinkQueue, MaxInflightBytes: p.MaxInflightBytes, DrainTimeout: p.DrainTimeout, Logger: log}
}

// Check is one configured filter or projection, to be checked against the
// tables the source publishes.
type Check struct {
	// Path is where it was configured, e.g. "transforms[0].filter" or
	// "sinks[1].project".
	Path  string
	check func(pipeline.Catalog) ([]string, error)
}

// Checks are every configured filter and projection.
type Checks []Check

// FilterChecks returns a Check for every filter and projection of cfg, the
// global transforms and each sink's.
func FilterChecks(cfg *config.Config) (Checks, error) {
	var cs Checks
	add := func(path string, f *config.Filter, p *config.Project) error {
		if f != nil {
			flt, err := transform.NewFilter(transform.FilterSpec{Tables: f.Tables, ExcludeTables: f.ExcludeTables, Ops: f.Ops, Where: f.Where})
			if err != nil {
				return fmt.Errorf("%s.filter: %w", path, err)
			}
			cs = append(cs, Check{Path: path + ".filter", check: flt.CheckConfig})
		}
		if p != nil {
			prj, err := transform.NewProject(transform.ProjectSpec{Tables: p.Tables, Include: p.Include, Exclude: p.Exclude})
			if err != nil {
				return fmt.Errorf("%s.project: %w", path, err)
			}
			cs = append(cs, Check{Path: path + ".project", check: prj.CheckConfig})
		}
		return nil
	}
	for i, t := range cfg.Transforms {
		if err := add(fmt.Sprintf("transforms[%d]", i), t.Filter, t.Project); err != nil {
			return nil, err
		}
	}
	for i, s := range cfg.Sinks {
		if err := add(fmt.Sprintf("sinks[%d]", i), s.Filter, s.Project); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// Run checks every filter and projection against cat. Each warning and
// each problem of the error is one line starting with the key path, e.g.
// `transforms[0].filter.where[0]: unknown column "pricee" in public.orders...`.
func (cs Checks) Run(cat pipeline.Catalog) (warnings []string, err error) {
	var problems []string
	for _, c := range cs {
		ws, err := c.check(cat)
		for _, w := range ws {
			warnings = append(warnings, c.Path+"."+w)
		}
		var tes transform.Errors
		switch {
		case err == nil:
		case errors.As(err, &tes):
			for _, e := range tes {
				problems = append(problems, c.Path+"."+e.Error())
			}
		default:
			problems = append(problems, c.Path+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return warnings, &CheckError{Problems: problems}
	}
	return warnings, nil
}

// CheckError lists the configured filters and projections that do not
// fit the published tables: each would silently drop changes.
type CheckError struct{ Problems []string }

func (e *CheckError) Error() string {
	return "the config's filters do not fit the published tables (each would drop changes silently):\n  " + strings.Join(e.Problems, "\n  ")
}

// Source is what a command that runs a pipeline needs of its source: the
// pipeline.Source, a Prepare step that connects and checks (and creates,
// when configured) what the source needs before anything streams, the
// catalog of the tables it emits, and readiness for /readyz.
type Source interface {
	pipeline.Source
	// Prepare connects and checks; its errors name the problem and the fix.
	Prepare(ctx context.Context) error
	// Catalog describes the tables the source emits (filled by Prepare).
	Catalog() pipeline.Catalog
	// Ready reports whether the source is streaming.
	Ready() bool
}

// NewSource builds the source that cfg.Source.Type selects. stopAt, when
// not zero, makes it stop by itself after that position (--until-lsn).
func NewSource(cfg *config.Config, log *slog.Logger, stopAt pipeline.LSN) (Source, error) {
	switch cfg.Source.Type {
	case config.SourceReplication, "":
		conn, err := source.NewConnector(cfg.Source.DSN)
		if err != nil {
			return nil, err
		}
		scfg := SourceConfig(cfg)
		scfg.StopAt = stopAt
		return source.New(conn, scfg, log), nil
	case config.SourceTriggers, config.SourceListen:
		if stopAt != 0 {
			return nil, fmt.Errorf("--until-lsn needs source.type %s: the %s source has no WAL positions", config.SourceReplication, cfg.Source.Type)
		}
		conn, err := source.NewConnector(cfg.Source.DSN)
		if err != nil {
			return nil, err
		}
		if cfg.Source.Type == config.SourceTriggers {
			return triggers.New(conn, TriggersConfig(cfg), log), nil
		}
		return listen.New(conn, ListenConfig(cfg), log), nil
	}
	return nil, fmt.Errorf("source.type %q is not available in this build", cfg.Source.Type)
}

// Database names the database a DSN selects ("" when it does not parse),
// for CloudEvents sources.
func Database(dsn string) string {
	conn, err := source.NewConnector(dsn)
	if err != nil {
		return ""
	}
	return conn.Database()
}
