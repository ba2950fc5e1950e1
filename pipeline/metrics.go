package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	eventsIn = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_pipeline_events_total", Help: "Events the source wrote into the pipeline."})
	backpressureWaits = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_pipeline_backpressure_waits_total",
		Help: "Times the source had to wait, by the sink whose inbox was full (or \"budget\" for the in-flight byte budget)."}, []string{"sink"})
	backpressureSeconds = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "pgcdc_pipeline_backpressure_seconds_total",
		Help: "Seconds the source waited for a full sink inbox."}, []string{"sink"})
)
