// Package listen is the source for databases that already send their
// changes with pg_notify (source.type listen): it LISTENs on the configured
// channels and turns each JSON payload into an event.
//
// It is at-most-once by nature, and says so at startup: PostgreSQL keeps no
// notification for a listener that is not connected, so whatever is sent
// while pgcdc is stopped or reconnecting is lost (each such gap is counted
// in pgcdc_listen_gaps_total and logged with its length); a payload is at
// most 8000 bytes (pg_notify fails the writing transaction above that);
// identical payloads within one transaction are folded into one. The
// triggers source (source.type triggers) has none of these limits.
//
// Event ids cannot be stable across restarts, since nothing upstream
// numbers notifications: the position is the time of receipt in
// microseconds since 1970 (forced to increase by at least one per
// notification), so ids still sort in delivery order within a run and,
// with a clock that does not go back, across runs.
package listen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgcdc/pgcdc/internal/backoff"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
	"github.com/pgcdc/pgcdc/source/internal/rowjson"
)

// Fields name where each part of an event is in a payload: a top-level key
// or a dotted path.
type Fields struct {
	Schema string // optional in a payload: "public" when missing
	Table  string // required
	Op     string // required: insert, update, delete or truncate, any case
	Row    string // the new row; for a delete, the old row when OldRow is missing
	OldRow string // optional
}

// Config configures a Source.
type Config struct {
	Channels []string
	// Tables are the source.tables patterns: the tables whose column types
	// and keys convert the rows of payloads (a table outside them keeps its
	// payload's JSON values as they are).
	Tables []string
	Fields Fields
	// ReconnectInitial, ReconnectMax and ReconnectMaxElapsed schedule
	// reconnects; MaxElapsed 0 retries forever.
	ReconnectInitial, ReconnectMax, ReconnectMaxElapsed time.Duration
}

// Source LISTENs on channels. One goroutine, the one calling Run, owns
// the connection.
type Source struct {
	connector *source.Connector
	cfg       Config
	log       *slog.Logger
	cat       *rowjson.Catalog
	db        *pgx.Conn
	ready     atomic.Bool
	pos       uint64
	tried     map[string]bool // tables looked up and not found
	now       func() time.Time
}

var _ pipeline.Source = (*Source)(nil)

// New returns a Source. Call Prepare before Run.
func New(connector *source.Connector, cfg Config, logger *slog.Logger) *Source {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &cfg.Fields
	for _, d := range []struct {
		p   *string
		def string
	}{{&f.Schema, "schema"}, {&f.Table, "table"}, {&f.Op, "op"}, {&f.Row, "row"}, {&f.OldRow, "old_row"}} {
		if *d.p == "" {
			*d.p = d.def
		}
	}
	s := &Source{connector: connector, cfg: cfg, log: logger.With("component", "source", "channels", strings.Join(cfg.Channels, ",")),
		tried: map[string]bool{}, now: time.Now}
	s.cat = rowjson.NewCatalog(s.conn)
	return s
}

func (s *Source) conn(ctx context.Context) (*pgx.Conn, error) {
	if s.db == nil || s.db.IsClosed() {
		return nil, errors.New("the listen connection is closed")
	}
	return s.db, nil
}

// Catalog describes the tables of source.tables.
func (s *Source) Catalog() pipeline.Catalog { return s.cat }

// Ready reports whether the connection is listening.
func (s *Source) Ready() bool { return s.ready.Load() }

// Prepare connects, loads the catalog and warns that this source is
// at-most-once.
func (s *Source) Prepare(ctx context.Context) error {
	if len(s.cfg.Channels) == 0 {
		return &source.FatalError{Err: errors.New("source.listen.channels: no channel to LISTEN on")}
	}
	if err := s.connect(ctx); err != nil {
		return err
	}
	names, err := rowjson.MatchingTables(ctx, s.db, s.cfg.Tables, "")
	if err != nil {
		return err
	}
	if err := s.cat.Load(ctx, names); err != nil {
		return err
	}
	s.log.Warn("source.type listen is at-most-once: notifications sent while pgcdc is stopped or reconnecting are lost, payloads over 8000 bytes fail in the database, identical payloads in one transaction arrive once; use source.type triggers for no loss")
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
	s.db = c
	return nil
}

// Run listens until ctx ends. See pipeline.Source; there is nothing to
// confirm upstream.
func (s *Source) Run(ctx context.Context, w pipeline.Writer, p pipeline.Progress) error {
	defer func() {
		if s.db != nil {
			_ = s.db.Close(context.Background())
		}
	}()
	sched := backoff.Retry{Schedule: backoff.Schedule{Initial: s.cfg.ReconnectInitial, Max: s.cfg.ReconnectMax, MaxElapsed: s.cfg.ReconnectMaxElapsed}}
	var lost time.Time
	for {
		err := s.session(ctx, w, &sched, &lost)
		if ctx.Err() != nil {
			p.Drain(context.Background())
			return nil
		}
		if source.IsFatal(err) {
			return err
		}
		if lost.IsZero() {
			lost = s.now()
			metricGaps.Inc()
			s.log.Warn("listen connection lost: notifications sent until it is back are lost (at-most-once); use source.type triggers for no loss", "err", err)
		}
		if s.db != nil {
			_ = s.db.Close(context.Background())
		}
		if werr := sched.Wait(ctx, err); werr != nil {
			if ctx.Err() != nil {
				p.Drain(context.Background())
				return nil
			}
			return werr
		}
	}
}

func (s *Source) session(ctx context.Context, w pipeline.Writer, sched *backoff.Retry, lost *time.Time) error {
	if err := s.connect(ctx); err != nil {
		return err
	}
	for _, ch := range s.cfg.Channels {
		if _, err := s.db.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen on %q: %w", ch, err)
		}
	}
	if !lost.IsZero() {
		gap := s.now().Sub(*lost)
		metricGapSeconds.Add(gap.Seconds())
		s.log.Warn("listening again: notifications of the gap are lost", "gap", gap.Round(time.Millisecond))
		*lost = time.Time{}
	}
	sched.Reset()
	s.ready.Store(true)
	metricConnected.Set(1)
	defer func() {
		s.ready.Store(false)
		metricConnected.Set(0)
	}()
	for {
		n, err := s.db.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for a notification: %w", err)
		}
		ev, err := s.event(ctx, n)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) || s.db.IsClosed() {
				return err // a lookup failed on the connection
			}
			metricBad.Inc()
			s.log.Warn("notification skipped: its payload is not an event", "channel", n.Channel, "bytes", len(n.Payload), "err", err)
			continue
		}
		if err := w.Write(ctx, pipeline.NewBatch([]*pipeline.Event{ev}, ev.CommitLSN, nil)); err != nil {
			return err
		}
		metricEvents.Inc()
	}
}

// event turns one notification into an event.
func (s *Source) event(ctx context.Context, n *pgconn.Notification) (*pipeline.Event, error) {
	payload := []byte(n.Payload)
	f := s.cfg.Fields
	str := func(path string, required bool) (string, error) {
		raw, ok, err := rowjson.Lookup(payload, path)
		if err != nil {
			return "", err
		}
		if !ok || string(raw) == "null" {
			if required {
				return "", fmt.Errorf("no %q in the payload (source.listen.fields)", path)
			}
			return "", nil
		}
		v, ok := rowjson.String(raw)
		if !ok {
			return "", fmt.Errorf("%q is not a string", path)
		}
		return v, nil
	}
	table, err := str(f.Table, true)
	if err != nil {
		return nil, err
	}
	schema, err := str(f.Schema, false)
	if err != nil {
		return nil, err
	}
	if schema == "" {
		schema = "public"
	}
	opText, err := str(f.Op, true)
	if err != nil {
		return nil, err
	}
	op, err := pipeline.ParseOp(strings.ToLower(opText))
	if err != nil || op == pipeline.OpRead {
		return nil, fmt.Errorf("%q is %q: want insert, update, delete or truncate", f.Op, opText)
	}
	now := s.now()
	s.pos = max(s.pos+1, uint64(now.UnixMicro()))
	ev := &pipeline.Event{Op: op, Schema: schema, Table: table, CommitLSN: pipeline.LSN(s.pos), CommitTime: now}
	if op == pipeline.OpTruncate {
		ev.Tables = []string{schema + "." + table}
		return ev, nil
	}
	t := s.table(ctx, schema, table)
	row := func(path string) (pipeline.Row, error) {
		raw, ok, err := rowjson.Lookup(payload, path)
		if err != nil || !ok || string(raw) == "null" {
			return nil, err
		}
		if raw[0] != '{' {
			return nil, fmt.Errorf("%q is not a JSON object", path)
		}
		if t == nil {
			return rowjson.Generic(raw)
		}
		return t.Row(raw, true)
	}
	newRow, err := row(f.Row)
	if err != nil {
		return nil, err
	}
	oldRow, err := row(f.OldRow)
	if err != nil {
		return nil, err
	}
	switch op {
	case pipeline.OpInsert:
		ev.After = newRow
	case pipeline.OpUpdate:
		ev.After, ev.Before = newRow, oldRow
	case pipeline.OpDelete:
		ev.Before = oldRow
		if ev.Before == nil {
			ev.Before = newRow // row_to_json(OLD) sent as the row
		}
	}
	if ev.After == nil && ev.Before == nil {
		return nil, fmt.Errorf("no row for the %s at %q or %q", op, f.Row, f.OldRow)
	}
	if t != nil {
		if ev.After != nil {
			ev.Key = t.Key(ev.After)
		} else {
			ev.Key = t.Key(ev.Before)
		}
	}
	return ev, nil
}

// table returns the catalog entry of schema.table, looking a table it does
// not know up once.
func (s *Source) table(ctx context.Context, schema, name string) *rowjson.Table {
	if t, ok := s.cat.Get(schema, name); ok {
		return t
	}
	k := schema + "." + name
	if s.tried[k] {
		return nil
	}
	s.tried[k] = true
	t, ok, err := s.cat.Refresh(ctx, schema, name)
	if err != nil || !ok {
		return nil
	}
	return t
}
