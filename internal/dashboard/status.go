package dashboard

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Sink is one configured sink as the status endpoint reports it.
type Sink struct {
	Name string
	Type string // stdout, sse, websocket, webhook, ...
}

// StatusConfig configures the status endpoint.
type StatusConfig struct {
	// SourceType is the config's source.type; it selects the metrics that
	// say whether the source is connected and how far behind it is.
	SourceType string
	// Sinks are the configured sinks, in configuration order.
	Sinks []Sink
	// Pipeline returns what the pipeline knows of each sink
	// (pipeline.Pipeline.Status); nil, or a nil result, before the
	// pipeline exists. It must be safe for concurrent use.
	Pipeline func() []pipeline.SinkStatus
	// Gatherer is where the metrics are read (nil:
	// prometheus.DefaultGatherer, the registry /metrics serves).
	Gatherer prometheus.Gatherer
}

// StatusBody is the JSON of GET /api/status.
type StatusBody struct {
	Time   time.Time   `json:"time"`
	Source SourceState `json:"source"`
	// Events counts the events the source wrote into the pipeline
	// (pgcdc_pipeline_events_total).
	Events float64     `json:"events"`
	Sinks  []SinkState `json:"sinks"`
}

// SourceState is the source's health. A field is null (or absent) when
// the source type has no such metric.
type SourceState struct {
	Type string `json:"type"`
	// Connected: the replication connection streams (replication), the
	// relay holds the outbox (triggers), the LISTEN connection is up
	// (listen).
	Connected *bool `json:"connected"`
	// LagBytes is WAL between the server's end and the confirmed
	// position; LagSeconds the age of the oldest change not yet
	// acknowledged by every sink (triggers: the oldest outbox row).
	LagBytes         *float64 `json:"lag_bytes,omitempty"`
	LagSeconds       *float64 `json:"lag_seconds,omitempty"`
	RetainedWALBytes *float64 `json:"retained_wal_bytes,omitempty"`
	Reconnects       *float64 `json:"reconnects,omitempty"`
}

// SinkState is one sink's health: what the pipeline knows of it (the
// newest event it acknowledged, its inbox) and its own metrics.
type SinkState struct {
	pipeline.SinkStatus
	Type              string   `json:"type"`
	BackpressureWaits *float64 `json:"backpressure_waits,omitempty"`
	// Live sinks (sse, websocket).
	Clients         *float64 `json:"clients,omitempty"`
	SlowDisconnects *float64 `json:"slow_disconnects,omitempty"` // cut off as too slow (overflow)
	Deliveries      *float64 `json:"deliveries,omitempty"`
	ReplayEvents    *float64 `json:"replay_events,omitempty"`
	// Webhook sinks.
	Requests         map[string]float64 `json:"requests,omitempty"` // by class: 2xx, 4xx, 5xx, error...
	Retries          *float64           `json:"retries,omitempty"`
	DeadLetters      *float64           `json:"dead_letters,omitempty"`
	DeadLetterEvents *float64           `json:"dead_letter_events,omitempty"`
	Delivered        *float64           `json:"delivered,omitempty"`
	InflightEvents   *float64           `json:"inflight_events,omitempty"`
}

// sourceMetrics names, per source type, the metrics of SourceState.
var sourceMetrics = map[string]struct{ connected, lagBytes, lagSeconds, retained, reconnects string }{
	"replication": {"pgcdc_source_connected", "pgcdc_source_lag_bytes", "pgcdc_source_lag_seconds", "pgcdc_source_retained_wal_bytes", "pgcdc_source_reconnects_total"},
	"triggers":    {"pgcdc_triggers_relay_active", "", "pgcdc_triggers_oldest_pending_seconds", "", "pgcdc_triggers_reconnects_total"},
	"listen":      {"pgcdc_listen_connected", "", "", "", "pgcdc_listen_gaps_total"},
}

// NewStatus returns the handler of GET /api/status: the health of the
// source and of every sink, read from the metrics registry and from
// c.Pipeline, never computed a second time. Its requests pass gate with
// origins, exactly as /api/changes: the same Host and Origin checks and,
// with server.auth, the same credential.
func NewStatus(c StatusConfig, gate *live.Gate, origins live.Origins) http.Handler {
	if c.Gatherer == nil {
		c.Gatherer = prometheus.DefaultGatherer
	}
	return &status{cfg: c, gate: gate, origins: origins}
}

type status struct {
	cfg     StatusConfig
	gate    *live.Gate
	origins live.Origins
}

func (s *status) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.gate.Admit(w, r, s.origins); !ok {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		live.Preflight(w, r, "GET, HEAD, OPTIONS", "Accept, Authorization")
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		live.WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET", nil)
		return
	}
	if r.URL.RawQuery != "" {
		live.WriteError(w, http.StatusBadRequest, "/api/status takes no parameters", nil)
		return
	}
	body, err := s.Body()
	if err != nil {
		live.WriteError(w, http.StatusInternalServerError, "read the metrics: "+err.Error(), nil)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		live.WriteError(w, http.StatusInternalServerError, "encode the status: "+err.Error(), nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(append(b, '\n'))
	}
}

// Body gathers the status now.
func (s *status) Body() (StatusBody, error) {
	fams, err := s.cfg.Gatherer.Gather()
	if err != nil && len(fams) == 0 {
		return StatusBody{}, err
	}
	m := make(metrics, len(fams))
	for _, f := range fams {
		m[f.GetName()] = f.GetMetric()
	}
	b := StatusBody{Time: time.Now().UTC(), Source: SourceState{Type: s.cfg.SourceType}, Sinks: make([]SinkState, len(s.cfg.Sinks))}
	if n := m.value("pgcdc_pipeline_events_total"); n != nil {
		b.Events = *n
	}
	if sm, ok := sourceMetrics[s.cfg.SourceType]; ok {
		if v := m.value(sm.connected); v != nil {
			up := *v >= 1
			b.Source.Connected = &up
		}
		b.Source.LagBytes = m.value(sm.lagBytes)
		b.Source.LagSeconds = m.value(sm.lagSeconds)
		b.Source.RetainedWALBytes = m.value(sm.retained)
		b.Source.Reconnects = m.value(sm.reconnects)
	}
	var ps []pipeline.SinkStatus
	if s.cfg.Pipeline != nil {
		ps = s.cfg.Pipeline()
	}
	for i, k := range s.cfg.Sinks {
		st := SinkState{SinkStatus: pipeline.SinkStatus{Name: k.Name}, Type: k.Type}
		for _, p := range ps {
			if p.Name == k.Name {
				st.SinkStatus = p
			}
		}
		sink := []string{"sink", k.Name}
		st.BackpressureWaits = m.value("pgcdc_pipeline_backpressure_waits_total", sink...)
		switch k.Type {
		case "sse", "websocket":
			st.Clients = m.value("pgcdc_broadcast_clients", sink...)
			st.SlowDisconnects = m.value("pgcdc_broadcast_disconnects_total", "sink", k.Name, "reason", "overflow")
			st.Deliveries = m.value("pgcdc_broadcast_deliveries_total", sink...)
			st.ReplayEvents = m.value("pgcdc_broadcast_replay_events", sink...)
		case "webhook":
			for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
				if v := m.value("pgcdc_webhook_requests_total", "sink", k.Name, "class", class); v != nil {
					if st.Requests == nil {
						st.Requests = map[string]float64{}
					}
					st.Requests[class] = *v
				}
			}
			st.Retries = m.value("pgcdc_webhook_retries_total", sink...)
			st.DeadLetters = m.value("pgcdc_webhook_dead_letters_total", sink...)
			st.DeadLetterEvents = m.value("pgcdc_webhook_dead_letter_events_total", sink...)
			st.Delivered = m.value("pgcdc_webhook_events_delivered_total", sink...)
			st.InflightEvents = m.value("pgcdc_webhook_inflight_events", sink...)
		}
		b.Sinks[i] = st
	}
	return b, nil
}

// metrics are gathered metric families by name.
type metrics map[string][]*dto.Metric

// value returns the value of the series of name whose labels include
// the given name, value pairs; nil when there is none.
func (m metrics) value(name string, labels ...string) *float64 {
	if name == "" {
		return nil
	}
next:
	for _, s := range m[name] {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range s.GetLabel() {
				if l.GetName() == labels[i] {
					found = l.GetValue() == labels[i+1]
					break
				}
			}
			if !found {
				continue next
			}
		}
		var v float64
		switch {
		case s.Gauge != nil:
			v = s.Gauge.GetValue()
		case s.Counter != nil:
			v = s.Counter.GetValue()
		case s.Untyped != nil:
			v = s.Untyped.GetValue()
		default:
			continue
		}
		return &v
	}
	return nil
}
