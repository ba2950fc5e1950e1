package wiring

import (
	"net/http"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/dashboard"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// dashboardSink names the sse sink the dashboard streams from; "" when
// the dashboard is off.
func dashboardSink(cfg *config.Config) string {
	if cfg.Dashboard.Disabled {
		return ""
	}
	return cfg.Dashboard.Sink
}

// mountDashboard adds to api, the server's own API by path, GET
// /api/status and, when the dashboard is on, the dashboard page at
// dashboard.path. Both pass gate with origins like /api/changes: the
// status endpoint needs the same credential, the page (static, no data)
// only the Host and Origin checks.
func mountDashboard(cfg *config.Config, d Deps, gate *live.Gate, origins live.Origins, api map[string]http.Handler) error {
	sc := dashboard.StatusConfig{SourceType: cfg.Source.Type, Pipeline: d.SinkStatus}
	names := make([]string, 0, len(cfg.Sinks))
	var events string
	for _, k := range cfg.Sinks {
		sc.Sinks = append(sc.Sinks, dashboard.Sink{Name: k.Name, Type: k.Type})
		names = append(names, k.Name)
		if k.Name == cfg.Dashboard.Sink {
			events = k.Path
		}
	}
	api[httpserver.PathStatus] = dashboard.NewStatus(sc, gate, origins)
	if dashboardSink(cfg) == "" {
		return nil
	}
	page, err := dashboard.NewPage(dashboard.PageConfig{
		Path: cfg.Dashboard.Path, Sink: cfg.Dashboard.Sink, Events: events,
		Changes: httpserver.PathChanges, Status: httpserver.PathStatus, Ticket: httpserver.PathTicket, Whoami: httpserver.PathWhoami,
		Auth: gate.Authenticates(), Sinks: names, Version: d.Version,
	})
	if err != nil {
		return err
	}
	api[page.Path()] = gate.Guard(page, origins)
	return nil
}
