package dashboard_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pgcdc/pgcdc/internal/dashboard"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/live"
)

func TestPage(t *testing.T) {
	p, err := dashboard.NewPage(dashboard.PageConfig{Path: "/dash/", Sink: "live", Events: "/events", Changes: "/api/changes",
		Status: "/api/status", Ticket: "/api/ticket", Whoami: "/api/whoami", Auth: true, Sinks: []string{"live", "hook"}, Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(method, path string, h http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		for k, v := range h {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		return w
	}
	w := get("GET", "/dash/", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /dash/: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); csp != dashboard.CSP || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	body := w.Body.String()
	_, after, ok := strings.Cut(body, `<meta name="pgcdc-config" content="`)
	meta, _, _ := strings.Cut(after, `"`)
	var cfg map[string]any
	if !ok || json.Unmarshal([]byte(html.UnescapeString(meta)), &cfg) != nil || cfg["events"] != "/events" || cfg["auth"] != true {
		t.Errorf("config meta %q", meta)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
		t.Error("the page has an inline script or style (the CSP forbids them)")
	}
	for _, asset := range []string{"app.js", "api.js", "stream.js", "store.js", "table.js", "diff.js", "spark.js", "health.js"} {
		if w := get("GET", "/dash/"+asset, nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s: %d %s", asset, w.Code, w.Header().Get("Content-Type"))
		}
	}
	if w := get("GET", "/dash/app.css", nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Errorf("GET app.css: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	etag := get("GET", "/dash/app.js", nil).Header().Get("ETag")
	if w := get("GET", "/dash/app.js", http.Header{"If-None-Match": {etag}}); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d, want 304", etag, w.Code)
	}
	for _, path := range []string{"/dash/nope.js", "/dash/index.html", "/other", "/dash/assets/app.js"} {
		if w := get("GET", path, nil); w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
	}
	if w := get("POST", "/dash/", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", w.Code)
	}
	if _, err := dashboard.NewPage(dashboard.PageConfig{Path: "/dash"}); err == nil {
		t.Error("a path without a trailing slash was accepted")
	}
}

// refuse is an Authorizer that refuses every request.
type refuse struct{}

func (refuse) Authorize(*http.Request) (live.Scope, error) {
	return live.Scope{}, &live.AuthError{Status: http.StatusUnauthorized, Reason: "missing_token", Message: "no credential", Missing: true}
}

func TestStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	gauge := func(name string, labels prometheus.Labels, v float64) {
		names := []string{}
		for k := range labels {
			names = append(names, k)
		}
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, names)
		reg.MustRegister(g)
		g.With(labels).Set(v)
	}
	gauge("pgcdc_source_connected", nil, 1)
	gauge("pgcdc_source_lag_bytes", nil, 4096)
	gauge("pgcdc_source_lag_seconds", nil, 1.5)
	gauge("pgcdc_pipeline_events_total", nil, 42)
	gauge("pgcdc_broadcast_clients", prometheus.Labels{"sink": "live"}, 3)
	gauge("pgcdc_broadcast_disconnects_total", prometheus.Labels{"sink": "live", "reason": "overflow"}, 2)
	gauge("pgcdc_webhook_retries_total", prometheus.Labels{"sink": "hook"}, 7)
	gauge("pgcdc_webhook_dead_letters_total", prometheus.Labels{"sink": "hook"}, 1)
	cfg := dashboard.StatusConfig{
		SourceType: "replication",
		Sinks:      []dashboard.Sink{{Name: "live", Type: "sse"}, {Name: "hook", Type: "webhook"}},
		Pipeline: func() []pipeline.SinkStatus {
			return []pipeline.SinkStatus{{Name: "live", Acked: "00000000016B3748:00000003", Queued: 1, Capacity: 64}, {Name: "hook", Capacity: 64}}
		},
		Gatherer: reg,
	}
	open, err := live.NewGate(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := func(method, target string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		r.Host = "127.0.0.1:8080"
		return r
	}
	w := httptest.NewRecorder()
	dashboard.NewStatus(cfg, open, live.Origins{}).ServeHTTP(w, req("GET", "/api/status"))
	if w.Code != 200 {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	var st dashboard.StatusBody
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source.Connected == nil || !*st.Source.Connected || *st.Source.LagBytes != 4096 || *st.Source.LagSeconds != 1.5 || st.Source.RetainedWALBytes != nil || st.Events != 42 {
		t.Errorf("source %+v, events %v", st.Source, st.Events)
	}
	if len(st.Sinks) != 2 {
		t.Fatalf("sinks %+v", st.Sinks)
	}
	l, h := st.Sinks[0], st.Sinks[1]
	if l.Acked != "00000000016B3748:00000003" || l.Queued != 1 || *l.Clients != 3 || *l.SlowDisconnects != 2 || l.Retries != nil {
		t.Errorf("live sink %+v", l)
	}
	if *h.Retries != 7 || *h.DeadLetters != 1 || h.Clients != nil || h.Type != "webhook" {
		t.Errorf("webhook sink %+v", h)
	}

	// The same gate as /api/changes: a refusal is answered, nothing read.
	closed, err := live.NewGate(nil, refuse{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pipeline = func() []pipeline.SinkStatus { t.Error("read the pipeline for a refused request"); return nil }
	w = httptest.NewRecorder()
	dashboard.NewStatus(cfg, closed, live.Origins{}).ServeHTTP(w, req("GET", "/api/status"))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "missing_token") {
		t.Errorf("without a credential: %d %s", w.Code, w.Body)
	}
	// A rebinding Host is refused as on every live endpoint.
	r := httptest.NewRequest("GET", "/api/status", nil)
	r.Host = "evil.example"
	w = httptest.NewRecorder()
	dashboard.NewStatus(cfg, open, live.Origins{}).ServeHTTP(w, r)
	if w.Code != http.StatusMisdirectedRequest {
		t.Errorf("Host evil.example: %d, want 421", w.Code)
	}
	for _, bad := range []*http.Request{req("POST", "/api/status"), req("GET", "/api/status?x=1")} {
		w = httptest.NewRecorder()
		cfg.Pipeline = nil
		dashboard.NewStatus(cfg, open, live.Origins{}).ServeHTTP(w, bad)
		if w.Code != http.StatusMethodNotAllowed && w.Code != http.StatusBadRequest {
			t.Errorf("%s %s: %d", bad.Method, bad.URL, w.Code)
		}
	}
}
