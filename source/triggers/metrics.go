package triggers

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricLocked = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_triggers_relay_active", Help: "1 while this relay holds the outbox lock and delivers."})
	metricBacklog = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_triggers_outbox_rows", Help: "Rows in the outbox: captured changes not yet acknowledged by every sink (refreshed every source.status_interval)."})
	metricOldest = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_triggers_oldest_pending_seconds", Help: "Age of the oldest row in the outbox; grows while a sink is slow or a long transaction holds delivery back."})
	metricHeldBack = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_triggers_held_back_rows", Help: "Outbox rows that cannot be delivered yet because an older transaction is still open."})
	metricConfirmed = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_triggers_confirmed_xid", Help: "Newest transaction id (xid8) every sink acknowledged; its rows and all before are deleted."})
	metricDeleted = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_triggers_deleted_rows_total", Help: "Outbox rows deleted after every sink acknowledged them."})
	metricTxns = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_triggers_transactions_total", Help: "Transactions relayed from the outbox."})
	metricReconnects = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_triggers_reconnects_total", Help: "Outbox connections lost and retried."})
)
