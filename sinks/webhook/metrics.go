package webhook

import "github.com/prometheus/client_golang/prometheus"

// The webhook sink's Prometheus metrics, registered once on the default
// registry; every series carries the sink's name.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_webhook_requests_total",
		Help: "Webhook request attempts by outcome: 2xx, 3xx, 4xx, 5xx, or error (no HTTP response).",
	}, []string{"sink", "class"})
	retriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_webhook_retries_total",
		Help: "Webhook request attempts scheduled again after a transient failure.",
	}, []string{"sink"})
	deadLettersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_webhook_dead_letters_total",
		Help: "Webhook requests written to the dead-letter file.",
	}, []string{"sink"})
	deadLetterEventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_webhook_dead_letter_events_total",
		Help: "Events written to the dead-letter file.",
	}, []string{"sink"})
	deliveredEventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_webhook_events_delivered_total",
		Help: "Events the receiver accepted with a 2xx answer.",
	}, []string{"sink"})
	deliverySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pgcdc_webhook_delivery_seconds",
		Help:    "Time from a request's first attempt to its 2xx answer, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"sink"})
	inflightEvents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgcdc_webhook_inflight_events",
		Help: "Events in the webhook request being delivered (0 when idle).",
	}, []string{"sink"})
)

func init() {
	prometheus.MustRegister(requestsTotal, retriesTotal, deadLettersTotal,
		deadLetterEventsTotal, deliveredEventsTotal, deliverySeconds, inflightEvents)
}

// sinkMetrics holds one sink's series, looked up once.
type sinkMetrics struct {
	requests         map[string]prometheus.Counter
	retries          prometheus.Counter
	deadLetters      prometheus.Counter
	deadLetterEvents prometheus.Counter
	delivered        prometheus.Counter
	latency          prometheus.Observer
	inflight         prometheus.Gauge
}

func newSinkMetrics(sink string) *sinkMetrics {
	m := &sinkMetrics{
		requests:         make(map[string]prometheus.Counter, 5),
		retries:          retriesTotal.WithLabelValues(sink),
		deadLetters:      deadLettersTotal.WithLabelValues(sink),
		deadLetterEvents: deadLetterEventsTotal.WithLabelValues(sink),
		delivered:        deliveredEventsTotal.WithLabelValues(sink),
		latency:          deliverySeconds.WithLabelValues(sink),
		inflight:         inflightEvents.WithLabelValues(sink),
	}
	for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
		m.requests[class] = requestsTotal.WithLabelValues(sink, class)
	}
	return m
}

// request counts one attempt with the given HTTP status (0: no response).
func (m *sinkMetrics) request(status int) {
	class := "error"
	switch {
	case status >= 200 && status < 300:
		class = "2xx"
	case status >= 300 && status < 400:
		class = "3xx"
	case status >= 400 && status < 500:
		class = "4xx"
	case status >= 500 && status < 600:
		class = "5xx"
	}
	m.requests[class].Inc()
}
