package source

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// watchWAL measures the WAL the slot retains (the server's WAL end minus
// the slot's restart_lsn) every interval until ctx ends, on a connection
// of its own: it sets pgcdc_source_retained_wal_bytes, warns once each
// time the amount crosses Config.RetainedWALWarn (and says so when it is
// back below), and warns when the server marks the slot unreserved or
// lost. A slot the server invalidated (lost) stops Run by itself: the
// server ends the session and the next START_REPLICATION fails with
// ErrSlotLost. Query failures are retried at the next interval.
//
// It also refreshes the catalog each interval, so that a table dropped or
// taken out of the publication disappears from it (pgoutput sends nothing
// when that happens) and live clients naming it are refused instead of
// waiting on a stream that stays empty.
func (s *Source) watchWAL(ctx context.Context, interval time.Duration) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	above := false
	lastStatus := ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if conn == nil || conn.IsClosed() {
			c, err := s.conn.SQL(ctx)
			if err != nil {
				s.log.Debug("retained WAL: cannot connect", "err", err)
			}
			conn = c
		}
		if conn != nil {
			var retained int64
			var status string
			err := conn.QueryRow(ctx, `SELECT coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, restart_lsn), 0)::int8,
  coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&retained, &status)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				s.log.Debug("retained WAL: query failed", "err", err)
			default:
				metricRetainedWAL.Set(float64(retained))
				above = s.reportRetained(retained, above)
				if status != lastStatus {
					s.reportWALStatus(status)
					lastStatus = status
				}
			}
		}
		if err := s.cat.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("catalog refresh failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reportRetained logs a crossing of the threshold and returns whether the
// slot is above it now.
func (s *Source) reportRetained(retained int64, above bool) bool {
	limit := s.cfg.RetainedWALWarn
	switch {
	case limit <= 0:
		return false
	case retained >= limit && !above:
		s.log.Warn("the slot retains more WAL than source.retained_wal_warn: PostgreSQL keeps it until pgcdc confirms; a slow sink or a stopped pgcdc lets it grow until max_slot_wal_keep_size invalidates the slot or the disk is full",
			"retained_wal_bytes", retained, "retained_wal", formatBytes(retained), "retained_wal_warn", formatBytes(limit))
		return true
	case retained < limit && above:
		s.log.Info("the slot's retained WAL is back below source.retained_wal_warn", "retained_wal_bytes", retained)
		return false
	}
	return above
}

func (s *Source) reportWALStatus(status string) {
	switch status {
	case "unreserved":
		s.log.Warn("the slot holds more WAL than max_slot_wal_keep_size allows (wal_status unreserved): the server invalidates it at the next checkpoint unless pgcdc catches up")
	case "lost":
		s.log.Error("the server invalidated the slot (wal_status lost): " + s.cfg.slotLostFix())
	}
}
