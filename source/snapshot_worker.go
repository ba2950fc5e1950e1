package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Snapshot chunk sizes.
const (
	DefaultSnapshotChunkRows = 10000
	snapshotChunkBytes       = 16 << 20 // a chunk ends early past this much row data
	maxChunkAttempts         = 10       // a chunk read again after poisoning
	maxRereadRounds          = 20       // re-reads of keys whose change lacked a TOASTed value
)

// SnapshotProgress reports a job's progress: rows emitted so far and the
// table's estimated size (0: unknown). done is set once, at the end.
type SnapshotProgress func(job, table string, rows, estimate int64, done bool)

// snapWorker runs snapshot jobs one at a time on a connection of its own.
type snapWorker struct {
	s        *Source
	coord    *snapCoord
	log      *slog.Logger
	run      string // tells this process's watermarks from a crashed one's
	conn     *pgx.Conn
	codecs   *typeRegistry
	chunk    int
	progress SnapshotProgress
}

func newSnapWorker(s *Source) *snapWorker {
	var b [4]byte
	_, _ = rand.Read(b[:])
	chunk := s.cfg.SnapshotChunkRows
	if chunk <= 0 {
		chunk = DefaultSnapshotChunkRows
	}
	return &snapWorker{s: s, coord: s.snap, log: s.baseLog.With("component", "snapshot", "slot", s.cfg.Slot), run: hex.EncodeToString(b[:]),
		chunk: chunk, progress: s.cfg.SnapshotProgress}
}

// sqlConn returns the worker's connection, with the replication session's
// settings so that values read are the text pgoutput would send.
func (w *snapWorker) sqlConn(ctx context.Context) (*pgx.Conn, error) {
	if w.conn != nil && !w.conn.IsClosed() {
		return w.conn, nil
	}
	c, err := w.s.conn.sessionSQL(ctx)
	if err != nil {
		return nil, err
	}
	w.conn = c
	w.codecs = newTypeRegistry(func(ctx context.Context, oid uint32) (typeInfo, error) { return lookupTypeOn(ctx, c, oid) })
	return c, nil
}

// loop runs the jobs of the slot until ctx ends: those pending at start,
// those requested through the WAL as the reader sees the requests, and
// (with source.snapshot initial) one for each table added to the
// publication later.
func (w *snapWorker) loop(ctx context.Context, p pipeline.Progress) {
	defer func() {
		if w.conn != nil {
			_ = w.conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var tablesChanged chan struct{}
	if w.s.cfg.Snapshot == SnapshotInitial {
		tablesChanged = make(chan struct{}, 1)
		w.s.cat.Watch(func(pipeline.TableInfo) {
			select {
			case tablesChanged <- struct{}{}:
			default:
			}
		})
	}
	poll := time.NewTicker(30 * time.Second)
	defer poll.Stop()
	for {
		if err := w.runPending(ctx, p); err != nil && ctx.Err() == nil {
			w.log.Warn("snapshot jobs: will try again", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-w.coord.requests:
		case <-tablesChanged:
			if err := w.addInitial(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("initial snapshot of new tables", "err", err)
			}
		case <-poll.C:
		}
	}
}

// addInitial records an initial snapshot for every published table that
// has none.
func (w *snapWorker) addInitial(ctx context.Context) error {
	conn, err := w.sqlConn(ctx)
	if err != nil {
		return err
	}
	if err := EnsureSnapshotTable(ctx, conn); err != nil {
		return err
	}
	n, err := addInitialJobs(ctx, conn, w.s.cfg.Slot, w.s.cat.Tables())
	if n > 0 {
		w.log.Info("initial snapshot of tables not snapshotted before", "tables", n)
	}
	return err
}

// runPending runs every unfinished job of the slot, oldest first.
func (w *snapWorker) runPending(ctx context.Context, p pipeline.Progress) error {
	conn, err := w.sqlConn(ctx)
	if err != nil {
		return err
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('pgcdc.snapshots') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return err // no snapshot was ever asked for
	}
	jobs, err := loadJobs(ctx, conn, w.s.cfg.Slot)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		err := w.runJob(ctx, p, j)
		switch {
		case ctx.Err() != nil:
			return nil // resumed at the next start
		case errors.Is(err, errJobFailed):
			w.log.Error("snapshot failed", "snapshot", j.id, "table", j.qualified(), "err", err)
			if ferr := finishJob(ctx, conn, j.id, "failed", err.Error()); ferr != nil {
				return ferr
			}
			metricSnapshotsFailed.Inc()
		case err != nil:
			return err // a connection problem: tried again later
		}
	}
	return nil
}

// errJobFailed marks what retrying the job cannot fix.
var errJobFailed = errors.New("snapshot failed")

// progressEntry is a chunk emitted and not yet known to be confirmed.
type progressEntry struct {
	end     pipeline.LSN
	lastKey []string
	chunks  int
	rows    int64
}

// runJob reads one job's table chunk by chunk from where it stopped.
func (w *snapWorker) runJob(ctx context.Context, p pipeline.Progress, j *snapJob) error {
	conn, err := w.sqlConn(ctx)
	if err != nil {
		return err
	}
	t, ok := w.s.cat.Table(j.schema, j.table)
	if !ok {
		return fmt.Errorf("%w: table %s is not published by %q", errJobFailed, j.qualified(), w.s.cfg.Publication)
	}
	plan, err := planTable(ctx, conn, w.s.cfg.Publication, t)
	if err != nil {
		if conn.IsClosed() || ctx.Err() != nil {
			return err // tried again once connected
		}
		return fmt.Errorf("%w: %v", errJobFailed, err)
	}
	var keep func(*pipeline.Event) bool
	if len(j.where) > 0 {
		f, err := transform.NewFilter(transform.FilterSpec{Where: j.where})
		if err != nil {
			return fmt.Errorf("%w: filter: %v", errJobFailed, err)
		}
		keep = func(e *pipeline.Event) bool { return f.Apply(e) != nil }
	}
	_ = conn.QueryRow(ctx, `SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = $1::regclass`, plan.ident).Scan(&j.estimate)
	_, _ = conn.Exec(ctx, `UPDATE pgcdc.snapshots SET estimate = $2, state = 'running', started_at = coalesce(started_at, now()) WHERE id = $1`, j.id, j.estimate)
	if j.state == "pending" {
		w.log.Info("snapshot started", "snapshot", j.id, "table", j.qualified(), "estimate", j.estimate, "key", plan.keyCols, "sink", j.sink)
	} else {
		w.log.Info("snapshot resumed", "snapshot", j.id, "table", j.qualified(), "chunks_done", j.chunks, "rows_done", j.rows)
	}
	metricSnapshotsRunning.Inc()
	defer metricSnapshotsRunning.Dec()

	start := time.Now()
	lastLog := start
	var queue []progressEntry
	chunks, rows, after := j.chunks, j.rows, j.lastKey
	first := j.chunks == 0
	for {
		pc, err := w.chunkOf(ctx, conn, j, plan, keep, chunks, first, after)
		if err != nil {
			return err
		}
		rows += int64(pc.emitted)
		if len(pc.rows) > 0 {
			after = pc.rows[len(pc.rows)-1].posText
		}
		chunks++
		first = false
		queue = append(queue, progressEntry{end: pc.end, lastKey: after, chunks: chunks, rows: rows})
		if queue, err = w.saveConfirmed(ctx, conn, j, p, queue); err != nil {
			return err
		}
		if w.progress != nil {
			w.progress(j.id, j.qualified(), rows, j.estimate, false)
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			w.logProgress(j, rows, start, j.rows)
		}
		if pc.last {
			break
		}
	}
	// Done once every chunk is confirmed: until then a restart resumes it.
	for len(queue) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if queue, err = w.saveConfirmed(ctx, conn, j, p, queue); err != nil {
			return err
		}
	}
	if err := finishJob(ctx, conn, j.id, "done", ""); err != nil {
		return err
	}
	metricSnapshotTablesDone.Inc()
	if w.progress != nil {
		w.progress(j.id, j.qualified(), rows, j.estimate, true)
	}
	d := time.Since(start)
	w.log.Info("snapshot completed", "snapshot", j.id, "table", j.qualified(), "rows", rows, "chunks", chunks,
		"duration", d.Round(time.Millisecond).String(), "rows_per_second", int64(float64(rows-j.rows)/max(d.Seconds(), 0.001)))
	return nil
}

// chunkOf reads and emits one chunk (and any re-reads it needs), returning
// it once its high watermark's transaction was decoded.
func (w *snapWorker) chunkOf(ctx context.Context, conn *pgx.Conn, j *snapJob, plan *tablePlan, keep func(*pipeline.Event) bool,
	n int, first bool, after []string) (*pendingChunk, error) {
	for attempt := 1; ; attempt++ {
		query := plan.chunkQuery(after != nil)
		params := make([][]byte, 0, len(after)+1)
		for _, k := range after {
			params = append(params, []byte(k))
		}
		params = append(params, []byte(fmt.Sprint(w.chunk)))
		pc, err := w.emit(ctx, conn, j, plan, keep, n, first, query, params, true)
		if err != nil {
			return nil, err
		}
		if pc.poisoned {
			metricSnapshotChunksRetried.Inc()
			if attempt >= maxChunkAttempts {
				return nil, fmt.Errorf("%w: chunk %d of %s was superseded %d times by changes it cannot match (the table changed under the snapshot?)", errJobFailed, n, j.qualified(), attempt)
			}
			continue
		}
		// Keys whose change left a TOASTed value out are read again, alone.
		reread := pc.reread
		for round := 0; len(reread) > 0; round++ {
			if round >= maxRereadRounds {
				return nil, fmt.Errorf("%w: %d rows of %s kept changing with unchanged TOASTed values during %d re-reads", errJobFailed, len(reread), j.qualified(), round)
			}
			var keys [][]byte
			rowsN := 0
			for _, r := range pc.rows {
				if reread[r.matchKey] {
					for _, k := range r.posText {
						keys = append(keys, []byte(k))
					}
					rowsN++
				}
			}
			if rowsN == 0 {
				break
			}
			metricSnapshotRereads.Add(float64(rowsN))
			rp, err := w.emit(ctx, conn, j, plan, keep, n, false, plan.keysQuery(rowsN), keys, false)
			if err != nil {
				return nil, err
			}
			pc.emitted += rp.emitted
			pc.end = rp.end
			reread = rp.reread
			if rp.poisoned {
				reread = map[string]bool{}
				for _, r := range rp.rows {
					reread[r.matchKey] = true
				}
			}
		}
		return pc, nil
	}
}

// emit runs one watermark-bracketed read: low watermark, the query, high
// watermark, then waits until the reader has decoded the high
// watermark's transaction. paging says whether the query is a chunk (its
// row count decides whether it is the last) or a re-read of keys.
func (w *snapWorker) emit(ctx context.Context, conn *pgx.Conn, j *snapJob, plan *tablePlan, keep func(*pipeline.Event) bool,
	n int, first bool, query string, params [][]byte, paging bool) (*pendingChunk, error) {
	pc := &pendingChunk{job: j, n: n, run: w.run, table: j.qualified(), keyCols: plan.keyCols, first: first, keep: keep}
	w.coord.register(pc)
	ok := false
	defer func() {
		if !ok {
			w.coord.forget(pc)
		}
	}()
	if err := emitMessage(ctx, conn, watermark{Kind: wmLow, Slot: w.s.cfg.Slot, Job: j.id, Chunk: n, Run: w.run}); err != nil {
		return nil, err
	}
	rows, cut, err := readRows(ctx, conn, plan, w.codecs, query, params, snapshotChunkBytes)
	if err != nil {
		return nil, err
	}
	last := paging && !cut && len(rows) < w.chunk
	w.coord.fill(pc, rows, last)
	if err := emitMessage(ctx, conn, watermark{Kind: wmHigh, Slot: w.s.cfg.Slot, Job: j.id, Chunk: n, Run: w.run, Last: last}); err != nil {
		return nil, err
	}
	select {
	case <-pc.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ok = true
	metricSnapshotChunks.Inc()
	metricSnapshotRows.Add(float64(pc.emitted))
	metricSnapshotDropped.Add(float64(pc.dropped))
	if !paging {
		pc.last = false
	}
	return pc, nil
}

// saveConfirmed records the newest chunk every sink has acknowledged and
// returns the ones still waiting.
func (w *snapWorker) saveConfirmed(ctx context.Context, conn *pgx.Conn, j *snapJob, p pipeline.Progress, queue []progressEntry) ([]progressEntry, error) {
	confirmed := p.Confirmed()
	i := 0
	for i < len(queue) && queue[i].end <= confirmed {
		i++
	}
	if i == 0 {
		return queue, nil
	}
	e := queue[i-1]
	if err := saveProgress(ctx, conn, j.id, e.lastKey, e.chunks, e.rows); err != nil {
		return queue, err
	}
	return queue[i:], nil
}

func (w *snapWorker) logProgress(j *snapJob, rows int64, start time.Time, startRows int64) {
	el := time.Since(start).Seconds()
	rate := float64(rows-startRows) / max(el, 0.001)
	attrs := []any{"snapshot", j.id, "table", j.qualified(), "rows", rows, "rows_per_second", int64(rate)}
	if j.estimate > 0 {
		attrs = append(attrs, "estimate", j.estimate)
		if left := float64(j.estimate - rows); left > 0 && rate > 0 {
			attrs = append(attrs, "eta", (time.Duration(left/rate) * time.Second).Round(time.Second).String())
		}
	}
	w.log.Info("snapshot progress", attrs...)
}
