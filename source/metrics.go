package source

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricConnected = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_connected", Help: "1 while the replication connection is streaming."})
	metricConfirmed = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_confirmed_lsn", Help: "Last position confirmed to PostgreSQL (as a number)."})
	metricServerEnd = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_server_wal_end_lsn", Help: "The server's WAL end from its last message (as a number)."})
	metricLagBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_lag_bytes", Help: "WAL between the server's end and the confirmed position: what PostgreSQL keeps for pgcdc."})
	metricLagSeconds = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_lag_seconds", Help: "Age of the oldest transaction read but not yet acknowledged by every sink; 0 when nothing is in flight."})
	metricTxns = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_source_transactions_total", Help: "Transactions read from the slot."})
	metricRetainedWAL = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_source_retained_wal_bytes", Help: "WAL the slot holds back on the server (its WAL end minus the slot's restart_lsn), measured every status interval."})
	metricReconnects = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_source_reconnects_total", Help: "Replication connections lost and retried."})

	metricSnapshotsRunning = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "pgcdc_snapshot_running", Help: "Snapshot jobs running (0 or 1: one table at a time)."})
	metricSnapshotTablesDone = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_tables_done_total", Help: "Snapshot jobs completed (one table each)."})
	metricSnapshotsFailed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_failed_total", Help: "Snapshot jobs that failed for good (the reason is logged and kept in pgcdc.snapshots)."})
	metricSnapshotChunks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_chunks_total", Help: "Snapshot chunks read and emitted."})
	metricSnapshotRows = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_rows_total", Help: "Rows emitted as read events by snapshots."})
	metricSnapshotDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_rows_superseded_total", Help: "Rows a snapshot read and did not emit because a change to the same key was decoded while it was read (the change carries the row)."})
	metricSnapshotChunksRetried = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_chunks_retried_total", Help: "Snapshot chunks read again because a change between their watermarks could not be matched to a key."})
	metricSnapshotVisibilityWaits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_visibility_waits_total", Help: "Times a snapshot chunk waited for a transaction already decoded to become visible to new snapshots (committed in the WAL, its backend not yet out of the proc array)."})
	metricSnapshotRereads = promauto.NewCounter(prometheus.CounterOpts{
		Name: "pgcdc_snapshot_rows_reread_total", Help: "Rows read again because a change between the watermarks left a TOASTed value out."})
)
