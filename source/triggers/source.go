package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/backoff"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
	"github.com/pgcdc/pgcdc/source/internal/rowjson"
)

// Config configures a Source.
type Config struct {
	Objects
	// Tables are the source.tables patterns; Prepare warns about matching
	// tables that have no capture trigger.
	Tables []string
	// ConfigPath names the config file in hints ("pgcdc triggers install -c ...").
	ConfigPath string
	// PollInterval is how often the relay looks at the outbox when no
	// NOTIFY woke it: the bound on the delay a lost wake-up can cause.
	PollInterval time.Duration
	// StatusInterval is how often the backlog metrics are refreshed.
	StatusInterval time.Duration
	// BacklogWarn logs a warning when the outbox holds this many rows.
	BacklogWarn int64
	// BatchEvents is the most events per batch and rows per read.
	BatchEvents int
	// PageBytes bounds the row data one read fetches (at least one row).
	PageBytes int
	// ReconnectInitial, ReconnectMax and ReconnectMaxElapsed schedule
	// reconnects; MaxElapsed 0 retries forever.
	ReconnectInitial, ReconnectMax, ReconnectMaxElapsed time.Duration
}

// Source relays an outbox that the capture triggers fill (see the package
// documentation). One goroutine, the one calling Run, owns the connection:
// it holds the outbox's advisory lock, LISTENs for wake-ups, reads
// transactions in order, writes them as batches, and deletes the rows the
// pipeline has confirmed.
type Source struct {
	connector *source.Connector
	cfg       Config
	log       *slog.Logger
	cat       *rowjson.Catalog
	db        *pgx.Conn // owned by Prepare, then by Run
	ready     atomic.Bool
	pageSQL   string

	cur struct { // the last row read: the next read starts after it
		xid uint64
		id  int64
	}
	txn         *openTxn // the transaction the last read may not have finished
	deleted     uint64   // rows with xid <= deleted are gone
	nextStatus  time.Time
	overBacklog bool
	warned      map[string]bool
}

// openTxn is a transaction being read.
type openTxn struct {
	xid    uint64
	time   time.Time
	seq    uint32
	events []*pipeline.Event
	bytes  int
}

var _ pipeline.Source = (*Source)(nil)

// New returns a Source. Call Prepare before Run.
func New(connector *source.Connector, cfg Config, logger *slog.Logger) *Source {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 10 * time.Second
	}
	if cfg.BatchEvents <= 0 {
		cfg.BatchEvents = 1024
	}
	if cfg.PageBytes <= 0 {
		cfg.PageBytes = 8 << 20
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{connector: connector, cfg: cfg, log: logger.With("component", "source", "outbox", cfg.OutboxName()), warned: map[string]bool{}}
	s.cat = rowjson.NewCatalog(s.conn)
	return s
}

// conn is the catalog's connection: the relay's own, never a new one, so
// that a lookup never runs on a session that lost the outbox lock.
func (s *Source) conn(context.Context) (*pgx.Conn, error) {
	if s.db == nil || s.db.IsClosed() {
		return nil, errors.New("the outbox connection is closed")
	}
	return s.db, nil
}

// Catalog describes the captured tables.
func (s *Source) Catalog() pipeline.Catalog { return s.cat }

// Ready reports whether the relay holds the outbox lock and is reading.
func (s *Source) Ready() bool { return s.ready.Load() }

func (s *Source) hint() string {
	if s.cfg.ConfigPath != "" {
		return "pgcdc triggers install -c " + s.cfg.ConfigPath
	}
	return "pgcdc triggers install"
}

// Prepare connects, checks that the outbox and triggers are installed, and
// loads the catalog of the captured tables.
func (s *Source) Prepare(ctx context.Context) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	var exists, commitTS bool
	if err := s.db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, current_setting('track_commit_timestamp') = 'on'`, s.cfg.Outbox()).Scan(&exists, &commitTS); err != nil {
		return fmt.Errorf("look up %s: %w", s.cfg.OutboxName(), err)
	}
	if !exists {
		return &source.FatalError{Err: fmt.Errorf("the outbox %s does not exist: run %s (or have a DBA run its --print-sql)", s.cfg.OutboxName(), s.hint())}
	}
	s.pageSQL = pageQuery(s.cfg.Objects, commitTS)
	captured, err := s.cfg.CapturedTables(ctx, s.db)
	if err != nil {
		return err
	}
	if len(captured) == 0 {
		return &source.FatalError{Err: fmt.Errorf("no table has the %s triggers: run %s", s.cfg.captureTrigger(), s.hint())}
	}
	if len(s.cfg.Tables) > 0 {
		matching, err := s.cfg.MatchingTables(ctx, s.db, s.cfg.Tables)
		if err != nil {
			return err
		}
		have := map[Table]bool{}
		for _, t := range captured {
			have[t] = true
		}
		for _, t := range matching {
			if !have[t] {
				s.log.Warn("table matches source.tables but has no capture trigger: its changes are not captured", "table", t.String(), "fix", s.hint())
			}
		}
	}
	names := make([]rowjson.Name, len(captured))
	for i, t := range captured {
		names[i] = rowjson.Name{Schema: t.Schema, Table: t.Name}
	}
	if err := s.cat.Load(ctx, names); err != nil {
		return err
	}
	s.log.Info("source ready", "tables", len(captured), "commit_timestamps", commitTS)
	return nil
}

func (s *Source) connect(ctx context.Context) error {
	if s.db != nil && !s.db.IsClosed() {
		return nil
	}
	c, err := s.connector.SQL(ctx)
	if err != nil {
		return err
	}
	// The page query's estimated cost (a correlated subquery for TRUNCATE
	// rows) crosses jit_above_cost, and JIT-compiling it took 385 ms per
	// read of 1024 rows (BenchmarkTriggers: relay 2,512 -> 31,667 events/s).
	if _, err := c.Exec(ctx, "SET jit = off"); err != nil {
		_ = c.Close(ctx)
		return fmt.Errorf("set jit = off on the outbox connection: %w", err)
	}
	s.db = c
	return nil
}

// Run relays the outbox until ctx ends. See pipeline.Source.
func (s *Source) Run(ctx context.Context, w pipeline.Writer, p pipeline.Progress) error {
	defer func() {
		if s.db != nil {
			_ = s.db.Close(context.Background())
		}
	}()
	sched := backoff.Retry{Schedule: backoff.Schedule{Initial: s.cfg.ReconnectInitial, Max: s.cfg.ReconnectMax, MaxElapsed: s.cfg.ReconnectMaxElapsed}}
	for {
		err := s.session(ctx, w, p, &sched)
		if ctx.Err() != nil {
			return s.stop(p)
		}
		if source.IsFatal(err) {
			return err
		}
		metricReconnects.Inc()
		s.log.Warn("outbox connection lost; reconnecting (nothing is lost: unacknowledged rows stay in the outbox)", "err", err, "in", sched.Next())
		if s.db != nil {
			_ = s.db.Close(context.Background())
		}
		if werr := sched.Wait(ctx, err); werr != nil {
			if ctx.Err() != nil {
				return s.stop(p)
			}
			return werr
		}
	}
}

// stop waits for the pipeline to drain and deletes what it confirmed.
func (s *Source) stop(p pipeline.Progress) error {
	p.Drain(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.connect(ctx); err != nil {
		s.log.Warn("could not delete the acknowledged rows at shutdown: they are sent again after a restart", "err", err)
		return nil
	}
	if err := s.deleteConfirmed(ctx, p); err != nil {
		s.log.Warn("could not delete the acknowledged rows at shutdown: they are sent again after a restart", "err", err)
	}
	return nil
}

// session runs one connection: lock, listen, relay, until an error.
func (s *Source) session(ctx context.Context, w pipeline.Writer, p pipeline.Progress, sched *backoff.Retry) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	if _, err := s.db.Exec(ctx, "LISTEN "+ident(s.cfg.Channel())); err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Channel(), err)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	sched.Reset()
	s.ready.Store(true)
	metricLocked.Set(1)
	s.log.Info("streaming", "after_xid", s.cur.xid, "wake", s.cfg.Channel())
	defer func() {
		s.ready.Store(false)
		metricLocked.Set(0)
	}()
	for {
		if err := s.deleteConfirmed(ctx, p); err != nil {
			return err
		}
		if err := s.status(ctx); err != nil {
			return err
		}
		more, err := s.page(ctx, w)
		if err != nil {
			return err
		}
		if more {
			continue
		}
		if err := s.wait(ctx, p); err != nil {
			return err
		}
	}
}

// lock takes the outbox's advisory lock on the session, waiting while
// another relay holds it.
func (s *Source) lock(ctx context.Context) error {
	waiting := false
	for {
		var ok bool
		if err := s.db.QueryRow(ctx, "SELECT pg_try_advisory_lock("+s.cfg.lockKey()+")").Scan(&ok); err != nil {
			return fmt.Errorf("take the outbox lock: %w", err)
		}
		if ok {
			if waiting {
				s.log.Info("took over the outbox: the other relay stopped")
			}
			return nil
		}
		if !waiting {
			s.log.Warn("another relay works on this outbox; waiting until it stops (only one relay delivers at a time)")
			waiting = true
		}
		t := time.NewTimer(s.cfg.PollInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// wait returns when a NOTIFY arrives or the poll interval passes; sooner
// while acknowledgements are due, so that confirmed rows are deleted.
func (s *Source) wait(ctx context.Context, p pipeline.Progress) error {
	d := s.cfg.PollInterval
	if !p.Idle() || uint64(p.Confirmed()) > s.deleted {
		d = min(d, 50*time.Millisecond)
	}
	if until := time.Until(s.nextStatus); until < d {
		d = max(until, time.Millisecond)
	}
	tctx, cancel := context.WithTimeout(ctx, d)
	n, err := s.db.WaitForNotification(tctx)
	cancel()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && tctx.Err() != nil:
		return nil // the poll interval passed
	case err != nil:
		return fmt.Errorf("wait for a notification: %w", err)
	}
	_ = n
	// One read serves every wake-up that arrived meanwhile.
	done, cancel := context.WithCancel(ctx)
	cancel()
	for {
		if n, _ := s.db.WaitForNotification(done); n == nil {
			return nil
		}
	}
}

// deleteConfirmed deletes the outbox rows of every transaction the
// pipeline has confirmed: every sink acknowledged them and everything
// before them.
func (s *Source) deleteConfirmed(ctx context.Context, p pipeline.Progress) error {
	c := uint64(p.Confirmed())
	if c <= s.deleted {
		return nil
	}
	tag, err := s.db.Exec(ctx, "DELETE FROM "+s.cfg.Outbox()+" WHERE xid <= $1", c)
	if err != nil {
		return fmt.Errorf("delete acknowledged rows from %s: %w", s.cfg.OutboxName(), err)
	}
	s.deleted = c
	metricDeleted.Add(float64(tag.RowsAffected()))
	metricConfirmed.Set(float64(c))
	return nil
}

// status refreshes the backlog metrics every StatusInterval and warns
// when the backlog crosses BacklogWarn.
func (s *Source) status(ctx context.Context) error {
	now := time.Now()
	if now.Before(s.nextStatus) {
		return nil
	}
	s.nextStatus = now.Add(s.cfg.StatusInterval)
	var rows, held int64
	var oldest float64
	if err := s.db.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(captured)), 0)::float8,
  count(*) FILTER (WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())) FROM `+s.cfg.Outbox()).Scan(&rows, &oldest, &held); err != nil {
		return fmt.Errorf("read the backlog of %s: %w", s.cfg.OutboxName(), err)
	}
	metricBacklog.Set(float64(rows))
	metricOldest.Set(oldest)
	metricHeldBack.Set(float64(held))
	switch {
	case s.cfg.BacklogWarn > 0 && rows >= s.cfg.BacklogWarn && !s.overBacklog:
		s.overBacklog = true
		s.log.Warn("the outbox backlog passed source.triggers.backlog_warn: sinks are slower than the writers, or a long transaction holds delivery back",
			"rows", rows, "held_back_rows", held, "oldest_seconds", int64(oldest), "backlog_warn", s.cfg.BacklogWarn)
	case s.overBacklog && rows < s.cfg.BacklogWarn:
		s.overBacklog = false
		s.log.Info("the outbox backlog is below source.triggers.backlog_warn again", "rows", rows)
	}
	return nil
}

// pageQuery reads the next rows in delivery order: transactions below the
// current snapshot's xmin (every one of them has ended, so no row can still
// appear before the ones read), by xid, rows in capture order. Rows past
// PageBytes ($4; the first row always fits) come back flagged "cut" and
// without their data. Sizes are read without detoasting uncompressed
// values; a compressed one is measured by its text.
func pageQuery(o Objects, commitTS bool) string {
	size := func(col string) string {
		return fmt.Sprintf("coalesce(CASE WHEN pg_column_compression(%[1]s) IS NULL THEN pg_column_size(%[1]s) ELSE octet_length(%[1]s::text) END, 0)", col)
	}
	commit := "NULL::timestamptz"
	if commitTS {
		commit = "pg_xact_commit_timestamp(p.xid::xid)"
	}
	return `SELECT p.xid, p.id, coalesce(` + commit + `, p.captured), p.schema_name, p.table_name, p.op, p.cut,
  CASE WHEN NOT p.cut THEN p.old_row END, CASE WHEN NOT p.cut THEN p.new_row END,
  CASE WHEN NOT p.cut AND p.op = 'TRUNCATE' THEN (SELECT array_agg(t.schema_name || '.' || t.table_name ORDER BY t.id) FROM ` + o.Outbox() + ` t
    WHERE t.xid = p.xid AND t.op = 'TRUNCATE' AND t.captured = p.captured) END
FROM (
  SELECT o.*, sum(o.size) OVER (ORDER BY o.xid, o.id ROWS UNBOUNDED PRECEDING) - o.size >= $4 AS cut
  FROM (
    SELECT b.*, ` + size("b.old_row") + ` + ` + size("b.new_row") + ` AS size FROM ` + o.Outbox() + ` b
    WHERE (b.xid, b.id) > ($1::xid8, $2::int8) AND b.xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY b.xid, b.id LIMIT $3
  ) o
) p
ORDER BY p.xid, p.id`
}

// outboxRow is one row of a page.
type outboxRow struct {
	xid            uint64
	id             int64
	time           time.Time
	schema, table  string
	op             string
	cut            bool
	oldRow, newRow []byte
	truncated      []string
}

// page reads the next rows and writes the transactions they complete. more
// reports that the read was full: call again at once.
func (s *Source) page(ctx context.Context, w pipeline.Writer) (bool, error) {
	rows, err := s.db.Query(ctx, s.pageSQL, s.cur.xid, s.cur.id, s.cfg.BatchEvents, s.cfg.PageBytes)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", s.cfg.OutboxName(), err)
	}
	var page []outboxRow
	n, cut := 0, false
	for rows.Next() {
		n++
		var r outboxRow
		if err := rows.Scan(&r.xid, &r.id, &r.time, &r.schema, &r.table, &r.op, &r.cut, &r.oldRow, &r.newRow, &r.truncated); err != nil {
			rows.Close()
			return false, fmt.Errorf("read %s: %w", s.cfg.OutboxName(), err)
		}
		if r.cut || cut {
			cut = true
			continue
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read %s: %w", s.cfg.OutboxName(), err)
	}
	more := cut || n == s.cfg.BatchEvents
	for i := range page {
		r := &page[i]
		if s.txn != nil && s.txn.xid != r.xid {
			if err := s.flush(ctx, w, true); err != nil {
				return false, err
			}
		}
		if s.txn == nil {
			s.txn = &openTxn{xid: r.xid, time: r.time}
		}
		ev, err := s.event(ctx, r)
		if err != nil {
			return false, err
		}
		ev.CommitLSN, ev.XID, ev.CommitTime, ev.Seq = pipeline.LSN(r.xid), uint32(r.xid), s.txn.time, s.txn.seq
		s.txn.seq++
		s.txn.events = append(s.txn.events, ev)
		s.txn.bytes += eventSize(ev)
		s.cur.xid, s.cur.id = r.xid, r.id
		if len(s.txn.events) >= s.cfg.BatchEvents || s.txn.bytes >= s.cfg.PageBytes {
			if err := s.flush(ctx, w, false); err != nil {
				return false, err
			}
		}
	}
	if !more && s.txn != nil {
		// Everything below xmin is read: the last transaction is whole.
		if err := s.flush(ctx, w, true); err != nil {
			return false, err
		}
	}
	return more, nil
}

// flush writes the open transaction's events as a batch; end closes the
// transaction (the batch carries its End: the xid, which the pipeline
// confirms once it and everything before it is acknowledged).
func (s *Source) flush(ctx context.Context, w pipeline.Writer, end bool) error {
	t := s.txn
	var pos pipeline.LSN
	if end {
		pos = pipeline.LSN(t.xid)
		s.txn = nil
		metricTxns.Inc()
	}
	if len(t.events) == 0 && !end {
		return nil
	}
	b := pipeline.NewBatch(t.events, pos, nil)
	b.Bytes = t.bytes + 64
	t.events, t.bytes = nil, 0
	if err := w.Write(ctx, b); err != nil {
		return err
	}
	return nil
}

// event converts one outbox row.
func (s *Source) event(ctx context.Context, r *outboxRow) (*pipeline.Event, error) {
	ev := &pipeline.Event{Schema: r.schema, Table: r.table}
	switch r.op {
	case "INSERT":
		ev.Op = pipeline.OpInsert
	case "UPDATE":
		ev.Op = pipeline.OpUpdate
	case "DELETE":
		ev.Op = pipeline.OpDelete
	case "TRUNCATE":
		ev.Op = pipeline.OpTruncate
		ev.Tables = r.truncated
		if len(ev.Tables) == 0 {
			ev.Tables = []string{r.schema + "." + r.table}
		}
		return ev, nil
	default:
		return nil, fmt.Errorf("outbox row (%d, %d) has op %q: want INSERT, UPDATE, DELETE or TRUNCATE", r.xid, r.id, r.op)
	}
	t, ok := s.cat.Get(r.schema, r.table)
	if !ok {
		var err error
		if t, ok, err = s.cat.Refresh(ctx, r.schema, r.table); err != nil {
			return nil, err
		}
	}
	var err error
	if ev.Before, err = s.row(ctx, &t, ok, r, r.oldRow); err != nil {
		return nil, err
	}
	if ev.After, err = s.row(ctx, &t, ok, r, r.newRow); err != nil {
		return nil, err
	}
	if t != nil {
		if ev.Op == pipeline.OpDelete {
			ev.Key = t.Key(ev.Before)
		} else {
			ev.Key = t.Key(ev.After)
		}
	}
	return ev, nil
}

// row converts one row's JSON; a column the catalog lacks refreshes the
// table once, then is kept as its JSON (a column dropped since capture).
func (s *Source) row(ctx context.Context, t **rowjson.Table, known bool, r *outboxRow, data []byte) (pipeline.Row, error) {
	if data == nil {
		return nil, nil
	}
	if !known {
		s.warnOnce("table:"+r.schema+"."+r.table, "table of an outbox row no longer exists: its values are sent as their JSON", "table", r.schema+"."+r.table)
		return rowjson.Generic(data)
	}
	row, err := (*t).Row(data, false)
	var uc *rowjson.UnknownColumnError
	if errors.As(err, &uc) {
		nt, ok, rerr := s.cat.Refresh(ctx, r.schema, r.table)
		if rerr != nil {
			return nil, rerr
		}
		if !ok {
			return rowjson.Generic(data)
		}
		*t = nt
		if row, err = nt.Row(data, false); errors.As(err, &uc) {
			s.warnOnce("column:"+r.schema+"."+r.table+"."+uc.Column, "a column of an outbox row is no longer in its table: its value is sent as its JSON", "table", r.schema+"."+r.table, "column", uc.Column)
			row, err = nt.Row(data, true)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("outbox row (%d, %d) of %s.%s: %w", r.xid, r.id, r.schema, r.table, err)
	}
	return row, nil
}

func (s *Source) warnOnce(key, msg string, args ...any) {
	if s.warned[key] {
		return
	}
	s.warned[key] = true
	s.log.Warn(msg, args...)
}

func eventSize(e *pipeline.Event) int {
	n := 160
	for _, r := range []pipeline.Row{e.Key, e.Before, e.After} {
		for _, c := range r {
			n += len(c.Name) + len(c.Value) + 40
		}
	}
	for _, t := range e.Tables {
		n += len(t) + 16
	}
	return n
}
