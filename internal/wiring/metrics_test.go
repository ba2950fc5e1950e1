package wiring

import (
	"context"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/pipeline"
)

// metricsConfig has a sink of every type, so that building it registers
// every metric pgcdc has.
const metricsConfig = `
source: {dsn: postgres://x@localhost/db}
sinks:
  - {name: live, type: sse}
  - {name: ws, type: websocket}
  - {name: hook, type: webhook, url: "http://localhost:9000/hooks"}
  - {name: out, type: stdout}
`

// documentedRow is one row of docs/metrics.md: | `name` | type | labels | meaning |
var documentedRow = regexp.MustCompile("(?m)^\\| `(pgcdc_[a-z0-9_]+)` \\| ([a-z]+) \\| ([^|]*) \\| ([^|]+) \\|$")

// TestMetricsDocumented: every metric pgcdc registers is in
// docs/metrics.md with its type and labels, every documented metric
// exists, and every labelled series of a configured sink exists before
// anything happened (dashboards and alerts see zeros, not nothing).
func TestMetricsDocumented(t *testing.T) {
	doc, err := config.ParseDocument([]byte(metricsConfig), "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Resolve(nil, config.NeedAll); err != nil {
		t.Fatal(err)
	}
	cfg := doc.Config
	log := discardLogger()
	srv, err := httpserver.New(cfg.Server, log)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Outputs(cfg, Deps{Log: log, Catalog: pipeline.StaticCatalog(nil), Stdout: io.Discard,
		Server: srv, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pipeline.New(emptySource{}, nil, outs, pipeline.Options{})

	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // name -> "type | labels"
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "pgcdc_") {
			continue
		}
		var labels []string
		if len(f.GetMetric()) > 0 {
			for _, l := range f.GetMetric()[0].GetLabel() {
				labels = append(labels, "`"+l.GetName()+"`")
			}
		}
		got[f.GetName()] = strings.ToLower(dto.MetricType_name[int32(f.GetType())]) + " | " + strings.Join(labels, ", ")
	}
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, m := range documentedRow.FindAllStringSubmatch(string(b), -1) {
		want[m[1]] = m[2] + " | " + strings.TrimSpace(m[3])
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		switch w, ok := want[name]; {
		case !ok:
			t.Errorf("docs/metrics.md lacks | `%s` | %s | <meaning> |", name, got[name])
		case w != got[name]:
			t.Errorf("docs/metrics.md says %s is %q, it is %q", name, w, got[name])
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("docs/metrics.md lists %s, which pgcdc does not register (or no series of it exists at startup)", name)
		}
	}
}

// emptySource ends at once.
type emptySource struct{}

func (emptySource) Run(context.Context, pipeline.Writer, pipeline.Progress) error { return nil }
