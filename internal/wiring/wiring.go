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

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
	natssink "github.com/pgcdc/pgcdc/sinks/nats"
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
	// Server carries the sse and websocket sinks and /api/changes; it
	// may be nil when NeedsServer(cfg) is false.
	Server *httpserver.Server
	// WALEnd, when not nil, is the server's current WAL end (the
	// source's WALEnd): resume ids beyond it get a reset.
	WALEnd func() pipeline.LSN
	// Snapshot starts live clients' snapshots (snapshot=true); nil: the
	// source cannot.
	Snapshot live.Snapshotter
	// Backfill reads what a live sink's replay ring no longer holds (a
	// pgcdc edge's stream, hub.WithBackfill); nil: such a resume is a
	// reset.
	Backfill hub.BackfillFunc
	// Auth authenticates the live endpoints (nil: no authentication);
	// Outputs mounts its /api/ticket and /api/whoami.
	Auth    *auth.Authenticator
	Version string // for the webhook User-Agent
	// SinkStatus, when not nil, is the pipeline's Status (it may return
	// nil until the pipeline exists), for /api/status.
	SinkStatus func() []pipeline.SinkStatus
}

// NeedsServer reports whether the config needs the HTTP server: an sse or
// websocket sink, or server.listen set (after SetDefaults, listen is
// empty only when no sink needs it and the file did not set it).
func NeedsServer(cfg *config.Config) bool { return cfg.Server.Listen != "" }

// AuthConfig maps the validated server.auth to package auth's Config: the
// single token becomes the static token named "token".
func AuthConfig(a config.Auth) auth.Config {
	c := auth.Config{
		Mode:       auth.Method(a.Mode),
		TokensFile: a.TokensFile,
		Scope:      a.Scope.Rules(),
		TicketTTL:  a.TicketTTL,
		JWT: auth.JWTConfig{
			Secret: a.JWT.Secret, PublicKeyFile: a.JWT.PublicKeyFile, JWKSURL: a.JWT.JWKSURL, JWKSFile: a.JWT.JWKSFile,
			Audience: a.JWT.Audience, Issuer: a.JWT.Issuer, Algorithms: a.JWT.Algorithms, Leeway: a.JWT.Leeway,
		},
	}
	if a.Token != "" {
		c.Tokens = append(c.Tokens, auth.StaticToken{Name: "token", Token: a.Token})
	}
	for _, t := range a.Tokens {
		c.Tokens = append(c.Tokens, auth.StaticToken{Name: t.Name, Token: t.Token, Scope: t.Scope})
	}
	if len(a.Scopes) > 0 {
		c.Scopes = make(map[string]auth.Rules, len(a.Scopes))
		for name, sc := range a.Scopes {
			c.Scopes[name] = sc.Rules()
		}
	}
	return c
}

// Authenticator builds the authenticator of server.auth. Cancelling ctx
// stops its key set refresh (mode jwt with jwks_url).
func Authenticator(ctx context.Context, s config.Server, log *slog.Logger) (*auth.Authenticator, error) {
	a, err := auth.New(ctx, AuthConfig(s.Auth), log)
	if err != nil {
		return nil, fmt.Errorf("server.auth: %w", err)
	}
	return a, nil
}

// Gate returns the admission of the live endpoints (Host, Origin,
// authorization) from the server settings: every SSE, WebSocket and
// /api/changes request passes live.Gate.Admit before its parameters are
// read, and the Scope of its token (a nil a, or mode none: everything) is
// applied before any client filter.
func Gate(s config.Server, a *auth.Authenticator) (*live.Gate, error) {
	var az live.Authorizer
	if a != nil && a.Mode() != auth.MethodNone {
		az = live.NewAuthorizer(a)
	}
	g, err := live.NewGate(s.AllowedHosts, az)
	if err != nil {
		return nil, fmt.Errorf("server.allowed_hosts: %w", err)
	}
	return g, nil
}

// LiveSettings maps a validated, defaulted broadcast sink's settings to
// the live sinks' typed settings: the one place they are built.
func LiveSettings(b config.Broadcast, gate *live.Gate, d Deps) live.Settings {
	return live.Settings{
		Hub: hub.Config{MaxEvents: b.Replay.MaxEvents, MaxBytes: b.Replay.MaxBytes, MaxAge: b.Replay.MaxAge,
			ClientBuffer: b.ClientBuffer, Heartbeat: b.Heartbeat},
		AllowedOrigins: b.AllowedOrigins,
		WriteTimeout:   b.WriteTimeout,
		Gate:           gate,
		WALEnd:         d.WALEnd,
		Snapshot:       d.Snapshot,
		Backfill:       d.Backfill,
	}
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

// Outputs builds every configured sink with its own transforms, mounts
// the sse and websocket sinks on d.Server at their paths, /api/changes
// over the first of them (or the dashboard's sse sink), /api/ticket,
// /api/whoami, /api/status and the dashboard page.
func Outputs(cfg *config.Config, d Deps) ([]pipeline.Output, error) {
	outs := make([]pipeline.Output, 0, len(cfg.Sinks))
	var gate *live.Gate
	var served *hub.Hub // the replay buffer /api/changes serves
	var origins live.Origins
	for i, sc := range cfg.Sinks {
		if (sc.Type == config.TypeSSE || sc.Type == config.TypeWebSocket) && gate == nil {
			var err error
			if gate, err = Gate(cfg.Server, d.Auth); err != nil {
				return nil, err
			}
		}
		sink, h, err := buildSink(sc, cfg.Server.Limits, d, gate)
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
		// The first broadcast sink's buffer, or the dashboard's sink's.
		if h != nil && (served == nil || sc.Name == dashboardSink(cfg)) {
			served, origins = h, live.NewOrigins(sc.AllowedOrigins)
		}
	}
	if served == nil {
		return outs, nil
	}
	cat := func() pipeline.Catalog { return served.Catalog() }
	api := map[string]http.Handler{httpserver.PathChanges: live.Changes(served, gate, origins)}
	if d.Auth != nil {
		api[httpserver.PathTicket] = gate.Guard(d.Auth.TicketHandler(), origins)
		api[httpserver.PathWhoami] = gate.Guard(d.Auth.WhoamiHandler(cat), origins)
	}
	if err := mountDashboard(cfg, d, gate, origins, api); err != nil {
		return nil, err
	}
	for path, h := range api {
		if err := d.Server.Handle(path, h); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// buildSink builds one sink; for a broadcast sink it also returns its
// hub (for /api/changes).
func buildSink(sc config.Sink, lim config.Limits, d Deps, gate *live.Gate) (pipeline.Sink, *hub.Hub, error) {
	switch sc.Type {
	case config.TypeStdout:
		return stdout.New(sc.Name, d.Stdout), nil, nil
	case config.TypeNATS:
		s, err := natssink.New(NATSSinkConfig(sc), d.Log, natssink.WithCatalog(d.Catalog))
		return s, nil, err
	case config.TypeWebhook:
		wc, err := WebhookConfig(sc)
		if err != nil {
			return nil, nil, err
		}
		s, err := webhook.New(wc, d.Log, webhook.WithDatabase(d.DB), webhook.WithVersion(d.Version))
		return s, nil, err
	case config.TypeSSE, config.TypeWebSocket:
		if d.Server == nil {
			return nil, nil, fmt.Errorf("sink type %s needs the HTTP server: set server.listen", sc.Type)
		}
		st := LiveSettings(sc.Broadcast, gate, d)
		var sink interface {
			pipeline.Sink
			http.Handler
			Hub() *hub.Hub
		}
		var err error
		if sc.Type == config.TypeSSE {
			sink, err = sse.New(sse.Config{Name: sc.Name, Settings: st, ClientRetry: sc.ClientRetry, EventNames: sc.EventNames}, d.Catalog, d.Log)
		} else {
			sink, err = ws.New(ws.Config{Name: sc.Name, Settings: st, MaxMessageBytes: sc.MaxMessageBytes,
				MaxSubscriptions: lim.SubscriptionsPerConnection, MessagesPerSecond: float64(lim.ClientMessagesPerSecond)}, d.Catalog, d.Log)
		}
		if err != nil {
			return nil, nil, err
		}
		if err := d.Server.Handle(sc.Path, sink); err != nil {
			return nil, nil, err
		}
		return sink, sink.Hub(), nil
	}
	return nil, nil, fmt.Errorf("sink type %q is not available in this build", sc.Type)
}

// SourceConfig maps the config to the replication source's settings.
func SourceConfig(cfg *config.Config) source.Config {
	s := cfg.Source
	return source.Config{
		Slot: s.Slot, Publication: s.Publication, Tables: s.Tables, Create: s.Create,
		StatusInterval:   s.StatusInterval,
		ReconnectInitial: s.Reconnect.Initial, ReconnectMax: s.Reconnect.Max, ReconnectMaxElapsed: s.Reconnect.MaxElapsed,
		BatchEvents:       cfg.Pipeline.BatchEvents,
		RetainedWALWarn:   s.RetainedWALWarn,
		Snapshot:          s.Snapshot,
		SnapshotChunkRows: s.SnapshotChunkRows,
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

// AuthCheck is the Check of the scope policies of a (server.auth.scope
// and scopes) against the published tables: auth.Authenticator.
// CheckCatalog, each problem under server.auth.
func AuthCheck(a *auth.Authenticator) Check {
	return Check{Path: "server.auth.scope", check: func(cat pipeline.Catalog) ([]string, error) {
		return nil, a.CheckCatalog(cat)
	}}
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
// With running set (a re-check after the catalog changed), a table that is
// no longer published is a warning: it has no changes left to drop.
func (cs Checks) Run(cat pipeline.Catalog, running bool) (warnings []string, err error) {
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
				if running && errors.Is(e, transform.ErrNotPublished) {
					warnings = append(warnings, c.Path+"."+e.Error())
					continue
				}
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

// NewSource builds the source that cfg.Source.Type selects. configPath is
// the config file ("" for none), which the source's hints name; stopAt,
// when not zero, makes it stop by itself after that position
// (--until-lsn).
func NewSource(cfg *config.Config, configPath string, log *slog.Logger, stopAt pipeline.LSN) (Source, error) {
	switch cfg.Source.Type {
	case config.SourceReplication, "":
		conn, err := source.NewConnector(cfg.Source.DSN)
		if err != nil {
			return nil, err
		}
		scfg := SourceConfig(cfg)
		scfg.StopAt, scfg.ConfigPath = stopAt, configPath
		return source.New(conn, scfg, log), nil
	case config.SourceNATS:
		return EdgeSource(cfg, log, "", 0), nil
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

// ClientSnapshots returns the Snapshotter of a source that can send live
// clients the current rows (the replication source), or nil.
func ClientSnapshots(src Source) live.Snapshotter {
	s, ok := src.(interface {
		SnapshotForClient(context.Context, source.ClientSnapshot) error
	})
	if !ok {
		return nil
	}
	return func(ctx context.Context, tables []string, sink, client string, maxRows int) error {
		return s.SnapshotForClient(ctx, source.ClientSnapshot{Tables: tables, Sink: sink, Client: client, MaxRows: maxRows})
	}
}
