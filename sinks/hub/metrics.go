package hub

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The broadcast sinks' Prometheus metrics, registered once on the default
// registry; every series carries the sink's name.
var (
	clientsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgcdc_broadcast_clients",
		Help: "Connected SSE or WebSocket clients.",
	}, []string{"sink"})
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_broadcast_deliveries_total",
		Help: "Events written to clients (one per event per matching subscription).",
	}, []string{"sink"})
	disconnectsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_broadcast_disconnects_total",
		Help: "Client disconnects by reason: client_closed, overflow, write_error, read_error, shutdown, auth_expired, forbidden.",
	}, []string{"sink", "reason"})
	queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgcdc_broadcast_queue_depth",
		Help: "Events published and not yet written to the slowest client (sampled every second).",
	}, []string{"sink"})
	replayEvents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgcdc_broadcast_replay_events",
		Help: "Events held in the replay buffer.",
	}, []string{"sink"})
	replayBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgcdc_broadcast_replay_bytes",
		Help: "Approximate memory held by the replay buffer.",
	}, []string{"sink"})
	duplicatesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_broadcast_duplicates_dropped_total",
		Help: "Events dropped because their id was not newer than the newest broadcast (re-sent after a reconnect).",
	}, []string{"sink"})
	deliverySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pgcdc_broadcast_delivery_latency_seconds",
		Help:    "Time from an event's commit to the write that carried it to a client; observed once per write, for its oldest event.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"sink"})
)

func init() {
	prometheus.MustRegister(clientsGauge, deliveriesTotal, disconnectsTotal, queueDepth,
		replayEvents, replayBytes, duplicatesTotal, deliverySeconds)
}

// sinkMetrics holds one sink's series, looked up once.
type sinkMetrics struct {
	name         string
	clients      prometheus.Gauge
	deliveries   prometheus.Counter
	queueDepth   prometheus.Gauge
	replayEvents prometheus.Gauge
	replayBytes  prometheus.Gauge
	duplicates   prometheus.Counter
	latency      prometheus.Observer
}

// disconnectReasons are the values of the reason label, initialised for
// every sink so that dashboards and alerts see zeros before the first one.
var disconnectReasons = []string{ReasonClientClosed, ReasonOverflow, ReasonWriteError, ReasonReadError, ReasonShutdown}

func metricsFor(sink string) *sinkMetrics {
	for _, r := range disconnectReasons {
		disconnectsTotal.WithLabelValues(sink, r)
	}
	return &sinkMetrics{
		name:         sink,
		clients:      clientsGauge.WithLabelValues(sink),
		deliveries:   deliveriesTotal.WithLabelValues(sink),
		queueDepth:   queueDepth.WithLabelValues(sink),
		replayEvents: replayEvents.WithLabelValues(sink),
		replayBytes:  replayBytes.WithLabelValues(sink),
		duplicates:   duplicatesTotal.WithLabelValues(sink),
		latency:      deliverySeconds.WithLabelValues(sink),
	}
}

func (m *sinkMetrics) disconnect(reason string) {
	disconnectsTotal.WithLabelValues(m.name, reason).Inc()
}

// Delivered records one write to a client that carried n events, the
// oldest of which committed at oldest (zero: unknown).
func (h *Hub) Delivered(n int, oldest time.Time) {
	if n <= 0 {
		return
	}
	h.met.deliveries.Add(float64(n))
	if !oldest.IsZero() {
		h.met.latency.Observe(time.Since(oldest).Seconds())
	}
}
