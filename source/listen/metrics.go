package listen

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricConnected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_listen_connected", Help: "1 while the LISTEN connection is up; notifications sent while it is 0 are lost."})
	metricGaps = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_listen_gaps_total", Help: "Times the LISTEN connection was lost: each is a gap in which notifications were lost."})
	metricGapSeconds = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_listen_gap_seconds_total", Help: "Seconds without a LISTEN connection (notifications sent then are lost)."})
	metricEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_listen_notifications_total", Help: "Notifications turned into events."})
	metricBad = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_listen_bad_payloads_total", Help: "Notifications skipped because the payload is not JSON or lacks a mapped field (each is logged)."})
)
