// Package monitoring holds pgcdc's Prometheus alerting rules and Grafana
// dashboard. It is a module of its own so that the Prometheus server's
// libraries, which its test uses to load the rules exactly as Prometheus
// does, stay out of pgcdc's dependencies.
package monitoring

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// documented returns the metric names of docs/metrics.md's table.
func documented(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(pgcdc_[a-z_]+)` \\|").FindAllSubmatch(b, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		t.Fatal("docs/metrics.md lists no metric")
	}
	return names
}

// metricsOf returns the metric names an expression selects.
func metricsOf(t *testing.T, p parser.Parser, expr string) []string {
	t.Helper()
	e, err := p.ParseExpr(expr)
	if err != nil {
		t.Fatalf("expression %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// checkKnown fails for a pgcdc metric the docs do not list (histogram
// series suffixes are stripped).
func checkKnown(t *testing.T, where string, names, known []string) {
	t.Helper()
	for _, n := range names {
		if !strings.HasPrefix(n, "pgcdc_") {
			continue
		}
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && slices.Contains(known, b) {
				base = b
			}
		}
		if !slices.Contains(known, base) {
			t.Errorf("%s uses %s, which docs/metrics.md does not list (renamed or removed?)", where, n)
		}
	}
}

// TestAlertRules loads alerts.yml with Prometheus' rule loader (what
// promtool check rules does) and checks every metric it uses exists.
func TestAlertRules(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile("alerts.yml", false, model.UTF8Validation, p, nil)
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		return
	}
	known := documented(t)
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("alert %s: want a summary annotation and a severity label", r.Alert)
			}
			checkKnown(t, "alert "+r.Alert, metricsOf(t, p, r.Expr), known)
		}
	}
	for _, want := range []string{"PgcdcRetainedWALHigh", "PgcdcLagHigh", "PgcdcReplicationDisconnected", "PgcdcWebhookDeadLetters", "PgcdcSlowClientsCutOff"} {
		found := false
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				found = found || r.Alert == want
			}
		}
		if !found {
			t.Errorf("alerts.yml has no %s alert", want)
		}
	}
}

// TestGrafanaDashboard checks the dashboard is importable JSON whose every
// query parses as PromQL and uses documented metrics.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Fatal("grafana-dashboard.json: want a title, a uid and panels")
	}
	p := parser.NewParser(parser.Options{})
	known := documented(t)
	for _, panel := range d.Panels {
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, tg := range panel.Targets {
			checkKnown(t, "panel "+panel.Title, metricsOf(t, p, tg.Expr), known)
		}
	}
}
