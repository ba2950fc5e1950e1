package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgcdc/pgcdc/internal/backoff"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Config configures a Source.
type Config struct {
	Slot        string
	Publication string
	Tables      []string // patterns for auto-creating the publication
	// Create makes Prepare create a missing slot and publication.
	Create bool
	// StatusInterval is the longest time between standby status updates.
	StatusInterval time.Duration
	// ReconnectInitial, ReconnectMax and ReconnectMaxElapsed schedule
	// reconnects after the database goes away; MaxElapsed 0 retries forever.
	ReconnectInitial, ReconnectMax, ReconnectMaxElapsed time.Duration
	// BatchEvents is the most events per batch.
	BatchEvents int
	// StopAt, when set, makes Run stop by itself once everything up to this
	// position was received (like pg_recvlogical --endpos): it drains,
	// confirms and returns nil.
	StopAt pipeline.LSN
	// ConfigPath is the config file the process runs with, for the
	// commands that fixes suggest (pgcdc slot create -c <path>); empty
	// when the environment alone configures it.
	ConfigPath string
	// RetainedWALWarn is how much WAL the slot may hold back before the
	// source warns (source.retained_wal_warn, in bytes); 0 never warns.
	RetainedWALWarn int64
	// Snapshot is SnapshotInitial to send the rows of every published
	// table once per slot (and of tables published later), or "" /
	// SnapshotNever. Snapshots asked for with RequestSnapshot (pgcdc
	// snapshot) run either way.
	Snapshot string
	// SnapshotChunkRows is the most rows a snapshot reads per chunk
	// (default DefaultSnapshotChunkRows).
	SnapshotChunkRows int
	// SnapshotProgress, when set, is told of each snapshot's progress
	// (a progress bar); the source logs it in any case.
	SnapshotProgress SnapshotProgress
}

// Snapshot modes of Config.Snapshot.
const (
	SnapshotNever   = "never"
	SnapshotInitial = "initial"
)

// errStopAt ends a session that reached Config.StopAt.
var errStopAt = errors.New("reached the stop position")

// Source reads a PostgreSQL logical replication slot with pgoutput and
// writes committed transactions, in commit order, as batches of events.
//
// Run owns the replication connection through two goroutines, one per
// direction (see stream): the reader receives, decodes and writes batches
// (blocking under backpressure); the reporter alone writes to the
// connection, sending the standby status updates that decideStatus
// decides, so they keep flowing while the reader waits. Acknowledgements
// reach the source only as Progress.Confirmed; it never confirms a
// position past a transaction that is not fully acknowledged, and never
// past what it has received.
type Source struct {
	conn *Connector
	cfg  Config
	log  *slog.Logger

	cat       *catalog
	types     *typeRegistry
	sql       *pgx.Conn // catalog and type lookups; owned by Run after Prepare
	startLSN  pipeline.LSN
	connected atomic.Bool
	confirmed atomic.Uint64 // last position sent to the server, for metrics
	walEnd    atomic.Uint64 // the server's WAL end, as last heard
	// jitter spreads reconnect delays (nil: math/rand/v2); tests fix it.
	jitter func() float64
	// created is what Prepare created, for DropCreated.
	created struct{ slot, publication bool }
	// streamed is set once a session started streaming: from then on the
	// slot holds a position that matters and DropCreated keeps it.
	streamed atomic.Bool
	// snap is the reader's side of snapshots, shared by the sessions.
	snap *snapCoord
	// baseLog is the logger New was given, for components of their own.
	baseLog *slog.Logger
	// clientJobs queues the snapshots of live clients (SnapshotForClient).
	clientJobs chan clientJob
}

var _ pipeline.Source = (*Source)(nil)

// New returns a Source. Call Prepare before Run.
func New(conn *Connector, cfg Config, logger *slog.Logger) *Source {
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = 10 * time.Second
	}
	if cfg.ReconnectInitial <= 0 {
		cfg.ReconnectInitial = 500 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Source{conn: conn, cfg: cfg, log: logger.With("component", "source", "slot", cfg.Slot), cat: newCatalog(),
		snap: newSnapCoord(cfg.Slot), baseLog: logger, clientJobs: make(chan clientJob, 64)}
	s.types = newTypeRegistry(s.lookupType)
	s.cat.reload = s.reloadCatalog
	return s
}

// Catalog describes the published tables; it is filled by Prepare and kept
// current by the stream.
func (s *Source) Catalog() pipeline.Catalog { return s.cat }

// Ready reports whether the replication connection is streaming.
func (s *Source) Ready() bool { return s.connected.Load() }

// ConfirmedLSN is the last position reported to the server.
func (s *Source) ConfirmedLSN() pipeline.LSN { return pipeline.LSN(s.confirmed.Load()) }

// WALEnd is the server's current WAL end as far as pgcdc knows it: read
// with pg_current_wal_lsn() by Prepare, then kept current from the
// server's keepalives and data messages (within a session it only grows;
// a new session may find a server whose WAL is elsewhere, and WALEnd then
// follows that server). Zero before Prepare. Safe for concurrent use.
func (s *Source) WALEnd() pipeline.LSN { return pipeline.LSN(s.walEnd.Load()) }

// Prepare connects, checks what run needs (Preflight), creates the slot
// and publication when configured to, and loads the catalog. Its errors
// name the problem and the fix. When it fails it drops again what it
// created; after it succeeded, DropCreated does.
func (s *Source) Prepare(ctx context.Context) (err error) {
	conn, err := s.conn.SQL(ctx)
	if err != nil {
		return err
	}
	s.sql = conn
	defer func() {
		if err != nil {
			if derr := s.DropCreated(context.WithoutCancel(ctx)); derr != nil {
				err = fmt.Errorf("%w (and %v)", err, derr)
			}
		}
	}()
	findings, err := Preflight(ctx, conn, s.cfg)
	if err != nil {
		return err
	}
	var slotMissing, pubMissing bool
	for _, f := range findings {
		switch {
		case errors.Is(f.Err, ErrSlotMissing) && s.cfg.Create:
			slotMissing = true
		case errors.Is(f.Err, ErrPublicationMissing) && s.cfg.Create && f.Severity != SevError:
			pubMissing = true
		case f.Severity == SevError:
			return &FatalError{fmt.Errorf("%s: fix: %s", f.Detail, f.Fix)}
		case f.Severity == SevWarn:
			s.log.Warn("preflight: "+f.Detail, "check", f.Check, "fix", f.Fix)
		}
	}
	// The publication first: a slot created before it would decode the
	// changes in between without it, and fail on them.
	if pubMissing {
		plan, err := CreatePublication(ctx, conn, s.cfg.Publication, s.cfg.Tables)
		if err != nil {
			return &FatalError{fmt.Errorf("%w: or have a role that may run it: %s", err, s.cfg.Command("publication create --print-sql"))}
		}
		s.created.publication = true
		s.log.Info("created publication", "publication", s.cfg.Publication, "sql", strings.Join(plan.Statements, "; "))
		if plan.ByName {
			s.log.Warn("the publication lists the tables that exist now: run `" + s.cfg.Command("publication create") + "` again after creating a table")
		}
	}
	if slotMissing {
		if _, err := CreateSlot(ctx, conn, s.cfg.Slot); err != nil {
			return &FatalError{err}
		}
		s.created.slot = true
		s.log.Info("created replication slot")
	}
	var confirmed, walEnd string
	if err := conn.QueryRow(ctx, `SELECT coalesce(confirmed_flush_lsn::text, '0/0'),
  coalesce((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END)::text, '0/0')
FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&confirmed, &walEnd); err != nil {
		return fmt.Errorf("read confirmed position of slot %q: %w", s.cfg.Slot, err)
	}
	if s.startLSN, err = pipeline.ParseLSN(confirmed); err != nil {
		return err
	}
	end, err := pipeline.ParseLSN(walEnd)
	if err != nil {
		return err
	}
	s.walEnd.Store(uint64(end))
	tables, keys, err := loadPublished(ctx, conn, s.cfg.Publication, s.types)
	if err != nil {
		return err
	}
	s.cat.replace(tables, keys)
	if s.cfg.Snapshot == SnapshotInitial {
		if err := EnsureSnapshotTable(ctx, conn); err != nil {
			return &FatalError{fmt.Errorf("source.snapshot initial: %w", err)}
		}
		n, err := addInitialJobs(ctx, conn, s.cfg.Slot, s.cat.Tables())
		if err != nil {
			return &FatalError{fmt.Errorf("source.snapshot initial: %w", err)}
		}
		if n > 0 {
			s.log.Info("initial snapshot: the existing rows of each table are sent first, then the changes", "tables", n)
		}
	}
	s.log.Info("source ready", "publication", s.cfg.Publication, "tables", len(s.cat.Tables()), "lsn", s.startLSN)
	return nil
}

// DropCreated drops the slot and publication that Prepare created, for a
// run that fails before streaming started: without it, a failed first run
// with source.create: true leaves an inactive slot that retains WAL
// forever. Once streaming started it does nothing: the slot then holds
// the position of changes not yet delivered, and dropping it would lose
// them. Call it after Run returned (or instead of Run). It is idempotent.
func (s *Source) DropCreated(ctx context.Context) error {
	if s.streamed.Load() || !(s.created.slot || s.created.publication) {
		return nil
	}
	conn, err := s.conn.SQL(ctx)
	if err != nil {
		return fmt.Errorf("drop what this run created: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var errs []error
	if s.created.slot {
		if _, err := DropSlot(ctx, conn, s.cfg.Slot); err != nil {
			errs = append(errs, err)
		} else {
			s.created.slot = false
			s.log.Info("dropped the replication slot this run created, as it never streamed")
		}
	}
	if s.created.publication {
		if _, err := DropPublication(ctx, conn, s.cfg.Publication); err != nil {
			errs = append(errs, err)
		} else {
			s.created.publication = false
			s.log.Info("dropped the publication this run created, as it never streamed", "publication", s.cfg.Publication)
		}
	}
	return errors.Join(errs...)
}

// Run streams until ctx is cancelled (then drains and confirms) or a fatal
// error. Lost connections are retried with exponential backoff and jitter.
func (s *Source) Run(ctx context.Context, w pipeline.Writer, p pipeline.Progress) error {
	defer func() {
		if s.sql != nil {
			_ = s.sql.Close(context.Background())
		}
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); s.watchWAL(watchCtx, s.cfg.StatusInterval) }()
	defer func() { stopWatch(); <-watchDone }()
	if s.cfg.StopAt == 0 { // a run bounded by --until-lsn reads what is there
		snapDone := make(chan struct{})
		go func() { defer close(snapDone); newSnapWorker(s).loop(watchCtx, p) }()
		defer func() { stopWatch(); <-snapDone }()
		clientDone := make(chan struct{})
		go func() { defer close(clientDone); newSnapWorker(s).clientLoop(watchCtx, p) }()
		defer func() { stopWatch(); <-clientDone }()
	}
	var emitted pipeline.LSN // end of the last transaction written whole
	sched := backoff.Schedule{Initial: s.cfg.ReconnectInitial, Max: s.cfg.ReconnectMax,
		MaxElapsed: s.cfg.ReconnectMaxElapsed, Jitter: s.jitter}
	failures := 0 // since the last session that streamed
	var failingSince time.Time
	for {
		streamed, err := s.session(ctx, w, p, &emitted)
		if ctx.Err() != nil || errors.Is(err, errStopAt) {
			return nil
		}
		if IsFatal(err) {
			return err
		}
		if streamed {
			failures, failingSince = 0, time.Time{}
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		failures++
		wait := sched.Delay(failures)
		if !sched.Allows(time.Since(failingSince) + wait) {
			return fmt.Errorf("replication connection lost for more than %s (source.reconnect.max_elapsed): %w", s.cfg.ReconnectMaxElapsed, err)
		}
		metricReconnects.Inc()
		s.log.Warn("replication connection lost; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			p.Drain(context.Background())
			return nil
		case <-t.C:
		}
	}
}

// session runs one replication connection. It reports whether streaming
// started, so that Run can reset its backoff.
func (s *Source) session(ctx context.Context, w pipeline.Writer, p pipeline.Progress, emitted *pipeline.LSN) (bool, error) {
	conn, err := s.conn.Replication(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		s.connected.Store(false)
		metricConnected.Set(0)
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	major := serverMajor(conn)
	if major < MinServerVersion {
		return false, &FatalError{fmt.Errorf("%w: PostgreSQL %d: pgcdc needs %d or newer (pgoutput's messages option)", ErrServerVersion, major, MinServerVersion)}
	}
	proto := "2" // PostgreSQL 14+; streaming stays off: only committed transactions arrive
	start := max(s.startLSN, p.Confirmed(), *emitted)
	args := []string{"proto_version '" + proto + "'", "publication_names " + quoteLiteral(s.cfg.Publication), "messages 'true'"}
	if err := pglogrepl.StartReplication(ctx, conn, s.cfg.Slot, pglogrepl.LSN(start), pglogrepl.StartReplicationOptions{PluginArgs: args}); err != nil {
		return false, s.classify(err)
	}
	s.streamed.Store(true)
	s.connected.Store(true)
	metricConnected.Set(1)
	s.log.Info("streaming", "lsn", start, "proto_version", proto)

	// Report only what is truly confirmed: start may be past transactions
	// still in flight from the previous connection (they are not re-read,
	// but not delivered yet either).
	floor := max(s.startLSN, p.Confirmed())
	st := newStream(s, conn, p, floor)
	err = st.run(ctx, w, emitted)
	return true, err
}

func serverMajor(conn *pgconn.PgConn) int {
	v := conn.ParameterStatus("server_version")
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(strings.TrimFunc(major, func(r rune) bool { return r < '0' || r > '9' }))
	return n
}

// classify marks errors that retrying will not fix, with their fix.
func (s *Source) classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42704": // undefined object: the slot, or the publication
			if strings.Contains(pgErr.Message, "publication") {
				return &FatalError{fmt.Errorf("%w: %s: run `%s` or set source.create: true", ErrPublicationMissing, pgErr.Message, s.cfg.Command("publication create"))}
			}
			return &FatalError{fmt.Errorf("%w: %s: run `%s` or set source.create: true", ErrSlotMissing, pgErr.Message, s.cfg.Command("slot create"))}
		case "55000": // object not in prerequisite state
			if strings.Contains(pgErr.Detail, "invalidated") || strings.Contains(pgErr.Message, "can no longer get changes") {
				return &FatalError{fmt.Errorf("%w: replication slot %q can no longer be read (%s): %s", ErrSlotLost, s.cfg.Slot, pgErr.Detail, s.cfg.slotLostFix())}
			}
			if strings.Contains(pgErr.Message, "wal_level") {
				return &FatalError{fmt.Errorf("%w: %s: set wal_level = logical and restart PostgreSQL", ErrWALLevel, pgErr.Message)}
			}
			return &FatalError{fmt.Errorf("replication slot %q: %s: check it with `%s`", s.cfg.Slot, pgErr.Message, s.cfg.Command("check"))}
		case "42501", "28000":
			return &FatalError{fmt.Errorf("%w: %s: as a superuser, ALTER ROLE %s WITH REPLICATION; (Amazon RDS/Aurora: GRANT rds_replication TO %s;)",
				ErrNoReplication, pgErr.Message, quoteIdent(s.conn.User()), quoteIdent(s.conn.User()))}
		}
	}
	return err
}
