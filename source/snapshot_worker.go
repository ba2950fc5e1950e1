package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/backoff"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Snapshot chunk sizes.
const (
	DefaultSnapshotChunkRows = 10000
	snapshotChunkBytes       = 8 << 20 // a chunk ends early past this much row data
	maxChunkAttempts         = 10      // a chunk read again after poisoning
	maxRereadRounds          = 20      // re-reads of keys whose change lacked a TOASTed value
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
	// Watermarks and progress rows need no standby's acknowledgement: a
	// lost one only means a chunk read again. Without this, a synchronous
	// standby that does not answer would stop every snapshot.
	if _, err := c.Exec(ctx, "SET synchronous_commit = local"); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("snapshot: %w", explainSQLError(err))
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
	if !j.ephemeral() {
		_, _ = conn.Exec(ctx, `UPDATE pgcdc.snapshots SET estimate = $2, state = 'running', started_at = coalesce(started_at, now()) WHERE id = $1`, j.id, j.estimate)
	}
	if j.ephemeral() {
		w.log.Debug("live client snapshot started", "snapshot", j.id, "table", j.qualified(), "client", j.client)
	} else if j.state == "pending" {
		w.log.Info("snapshot started", "snapshot", j.id, "table", j.qualified(), "estimate", j.estimate, "key", plan.keyCols, "sink", j.sink)
	} else {
		w.log.Info("snapshot resumed", "snapshot", j.id, "table", j.qualified(), "chunks_done", j.chunks, "rows_done", j.rows)
	}
	metricSnapshotsRunning.Inc()
	defer metricSnapshotsRunning.Dec()

	start := time.Now()
	lastLog := start
	var queue []progressEntry
	rows, after := j.rows, j.lastKey
	if j.chunks == 0 {
		if _, err := w.marker(ctx, conn, j, plan, 0, pipeline.OpSnapshotStarted); err != nil {
			return err
		}
	}
	// Chunks are pipelined: the next is read while the reader still emits
	// the previous ones (each chunk's watermarks bracket only its own
	// read, so they need not wait for each other), at most
	// maxInflightChunks at a time. A chunk is settled in order: read again
	// if it was poisoned, its TOAST re-reads done, then its position is
	// queued to be saved once confirmed.
	var pending []inflightChunk
	n, exhausted := j.chunks, false
	for !exhausted || len(pending) > 0 {
		if !exhausted && len(pending) < maxInflightChunks {
			pc, err := w.send(ctx, conn, j, plan, keep, n, plan.chunkQuery(after != nil), w.chunkParams(after, nil), true)
			if err != nil {
				return err
			}
			hi := pc.rows.lastPos()
			if hi == nil {
				hi = after
			}
			pending = append(pending, inflightChunk{pc: pc, lo: after, hi: hi})
			exhausted = pc.last
			after, n = hi, n+1
			continue
		}
		f := pending[0]
		pending = pending[1:]
		emitted, end, err := w.settle(ctx, conn, j, plan, keep, f)
		if err != nil {
			return err
		}
		rows += int64(emitted)
		queue = append(queue, progressEntry{end: end, lastKey: f.hi, chunks: f.pc.n + 1, rows: rows})
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
	}
	// snapshot_completed only once every chunk is settled.
	end, err := w.marker(ctx, conn, j, plan, n, pipeline.OpSnapshotCompleted)
	if err != nil {
		return err
	}
	chunks := n
	queue = append(queue, progressEntry{end: end, lastKey: after, chunks: chunks, rows: rows})
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
	if !j.ephemeral() {
		if err := finishJob(ctx, conn, j.id, "done", ""); err != nil {
			return err
		}
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

// inflightChunk is a chunk sent and not yet settled: the key range it
// covers, (lo, hi].
type inflightChunk struct {
	pc     *pendingChunk
	lo, hi []string
}

// maxInflightChunks bounds the chunks read and not yet emitted (each holds
// its rows, up to snapshotChunkBytes).
const maxInflightChunks = 4

// chunkParams binds a chunk query: the position after which it reads (none
// for the first) and the limit; or, with to set, a range query's bounds.
func (w *snapWorker) chunkParams(after, to []string) [][]byte {
	params := make([][]byte, 0, len(after)+len(to)+1)
	for _, k := range after {
		params = append(params, []byte(k))
	}
	if to != nil {
		for _, k := range to {
			params = append(params, []byte(k))
		}
		return params
	}
	return append(params, []byte(fmt.Sprint(w.chunk)))
}

// settle waits until chunk f was emitted, reads it again while it was
// poisoned (a change between its watermarks it could not match), and
// reads again, alone, the keys whose change left a TOASTed value out. It
// returns how many reads it emitted and the position to confirm.
func (w *snapWorker) settle(ctx context.Context, conn *pgx.Conn, j *snapJob, plan *tablePlan, keep func(*pipeline.Event) bool, f inflightChunk) (int, pipeline.LSN, error) {
	pc := f.pc
	if err := w.await(ctx, pc); err != nil {
		return 0, 0, err
	}
	for attempt := 1; pc.poisoned; attempt++ {
		metricSnapshotChunksRetried.Inc()
		if attempt >= maxChunkAttempts {
			return 0, 0, fmt.Errorf("%w: chunk %d of %s was superseded %d times by changes it cannot match (the table changed under the snapshot?)", errJobFailed, pc.n, j.qualified(), attempt)
		}
		if f.hi == nil {
			break // an empty first chunk: nothing to read again
		}
		next, err := w.send(ctx, conn, j, plan, keep, pc.n, plan.rangeQuery(f.lo != nil), w.chunkParams(f.lo, f.hi), false)
		if err != nil {
			return 0, 0, err
		}
		if err := w.await(ctx, next); err != nil {
			return 0, 0, err
		}
		pc = next
	}
	emitted, end := pc.emitted, pc.end
	reread, cur := pc.reread, pc.rows
	for round := 0; len(reread) > 0; round++ {
		if round >= maxRereadRounds {
			return 0, 0, fmt.Errorf("%w: %d rows of %s kept changing with unchanged TOASTed values during %d re-reads", errJobFailed, len(reread), j.qualified(), round)
		}
		var keys [][]byte
		rowsN := 0
		for i := range cur.rows {
			if reread[cur.matchKey(i)] {
				keys = append(keys, cur.pos(i)...)
				rowsN++
			}
		}
		if rowsN == 0 {
			break
		}
		metricSnapshotRereads.Add(float64(rowsN))
		rp, err := w.send(ctx, conn, j, plan, keep, pc.n, plan.keysQuery(rowsN), keys, false)
		if err != nil {
			return 0, 0, err
		}
		if err := w.await(ctx, rp); err != nil {
			return 0, 0, err
		}
		emitted += rp.emitted
		end = rp.end
		reread = rp.reread
		if rp.poisoned {
			reread = map[string]bool{}
			for i := range rp.rows.rows {
				reread[rp.rows.matchKey(i)] = true
			}
		}
		cur = rp.rows // the keys of a further round are among these
	}
	return emitted, end, nil
}

// send runs one watermark-bracketed read: low watermark, the query, high
// watermark. paging says whether the query is a chunk (its row count
// decides whether it is the table's last) or a re-read. It does not wait
// for the reader: await does.
func (w *snapWorker) send(ctx context.Context, conn *pgx.Conn, j *snapJob, plan *tablePlan, keep func(*pipeline.Event) bool,
	n int, query string, params [][]byte, paging bool) (*pendingChunk, error) {
	pc := &pendingChunk{job: j, n: n, run: w.run, table: j.qualified(), keyCols: plan.keyCols, keep: keep}
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
	hint := 0
	if paging {
		hint = w.chunk
	}
	if err := w.readSnapshot(ctx, conn, pc); err != nil {
		return nil, err
	}
	rows, cut, err := readRows(ctx, conn, plan, w.codecs, query, params, snapshotChunkBytes, hint)
	if err == nil {
		_, err = conn.Exec(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		return nil, err
	}
	w.coord.fill(pc, rows, false)
	pc.last = paging && !cut && len(rows.rows) < w.chunk // the worker's view; the reader emits no completion for it
	if err := emitMessage(ctx, conn, watermark{Kind: wmHigh, Slot: w.s.cfg.Slot, Job: j.id, Chunk: n, Run: w.run}); err != nil {
		return nil, err
	}
	ok = true
	return pc, nil
}

// readSnapshot opens the REPEATABLE READ transaction a chunk is read in,
// with a snapshot that sees every transaction the reader had begun
// decoding when the chunk was registered (see snapshot_coord.go): while
// one is committed in the WAL but not yet visible (its backend has not
// left the proc array: a flush, or a synchronous standby, it waits for),
// it takes a new snapshot, backing off up to 100 ms, and says so every
// 10 s. There is no signal for a transaction becoming visible, hence the
// polling; a chunk read without the wait could carry a row older than a
// change already delivered.
func (w *snapWorker) readSnapshot(ctx context.Context, conn *pgx.Conn, pc *pendingChunk) error {
	waitFor := pc.decoded
	pause := backoff.Schedule{Initial: time.Millisecond, Max: 100 * time.Millisecond}
	start, warned := time.Now(), time.Now()
	for attempt := 1; ; attempt++ {
		if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return fmt.Errorf("snapshot: begin the chunk's transaction: %w", explainSQLError(err))
		}
		// The snapshot and, the first time, the transactions waiting for
		// a synchronous standby: committed, not yet visible, whether this
		// process decoded them or not (one decoded before a restart). Only
		// those of sessions the role may see in pg_stat_activity (its own,
		// or all with pg_read_all_stats); pg_xact_status cannot tell, as
		// it asks the proc array first. One that starts waiting later
		// commits after registration, so its changes are marked: asking
		// again would wait for ever under a steady synchronous load.
		var text string
		var committed []string
		err := conn.QueryRow(ctx, `SELECT pg_current_snapshot()::text,
  CASE WHEN $1 THEN array(SELECT backend_xid::text FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND backend_xid IS NOT NULL) END`,
			attempt == 1).Scan(&text, &committed)
		var snap pgSnapshot
		if err == nil {
			snap, err = parsePGSnapshot(text)
		}
		if err != nil {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			return fmt.Errorf("snapshot: the chunk's snapshot: %w", err)
		}
		waitFor = snap.invisible(waitFor)
		for _, c := range committed {
			if x, err := strconv.ParseUint(c, 10, 64); err == nil && !slices.Contains(waitFor, uint32(x)) {
				waitFor = append(waitFor, uint32(x))
			}
		}
		if len(waitFor) == 0 {
			return nil
		}
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		metricSnapshotVisibilityWaits.Inc()
		if time.Since(warned) >= 10*time.Second {
			warned = time.Now()
			w.log.Warn("snapshot: waiting for committed transactions to become visible (a synchronous standby not answering?)",
				"snapshot", pc.job.id, "table", pc.table, "xids", waitFor, "waited", time.Since(start).Round(time.Second).String())
		}
		if err := backoff.Sleep(ctx, pause.Base(attempt)); err != nil {
			return err
		}
	}
}

// await waits until the reader decoded pc's high watermark's transaction.
func (w *snapWorker) await(ctx context.Context, pc *pendingChunk) error {
	select {
	case <-pc.done:
	case <-ctx.Done():
		w.coord.forget(pc)
		return ctx.Err()
	}
	metricSnapshotChunks.Inc()
	metricSnapshotRows.Add(float64(pc.emitted))
	metricSnapshotDropped.Add(float64(pc.dropped))
	return nil
}

// marker emits a snapshot_started or snapshot_completed event in a
// watermark pair of its own, and returns the position to confirm.
func (w *snapWorker) marker(ctx context.Context, conn *pgx.Conn, j *snapJob, plan *tablePlan, n int, op pipeline.Op) (pipeline.LSN, error) {
	pc := &pendingChunk{job: j, n: n, run: w.run + string(op), table: j.qualified(), keyCols: plan.keyCols, rows: &chunkRows{}, marker: op}
	w.coord.register(pc)
	for _, kind := range []string{wmLow, wmHigh} {
		if err := emitMessage(ctx, conn, watermark{Kind: kind, Slot: w.s.cfg.Slot, Job: j.id, Chunk: n, Run: pc.run}); err != nil {
			w.coord.forget(pc)
			return 0, err
		}
	}
	select {
	case <-pc.done:
		return pc.end, nil
	case <-ctx.Done():
		w.coord.forget(pc)
		return 0, ctx.Err()
	}
}

// saveConfirmed records the newest chunk every sink has acknowledged and
// returns the ones still waiting.
func (w *snapWorker) saveConfirmed(ctx context.Context, conn *pgx.Conn, j *snapJob, p pipeline.Progress, queue []progressEntry) ([]progressEntry, error) {
	if j.ephemeral() {
		return nil, nil // nothing to resume: the client does not outlive the process
	}
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

// clientLoop runs the snapshots of live clients (snapshot=true) as they
// come, on a connection of its own, so that a long initial snapshot does
// not keep a page waiting. They are not kept in pgcdc.snapshots.
func (w *snapWorker) clientLoop(ctx context.Context, p pipeline.Progress) {
	defer func() {
		if w.conn != nil {
			_ = w.conn.Close(context.WithoutCancel(ctx))
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-w.s.clientJobs:
			jctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(j.ctx, cancel) // the client left: stop reading for it
			err := w.runJob(jctx, p, j.snapJob)
			stop()
			cancel()
			if err != nil && jctx.Err() == nil {
				w.log.Warn("live client snapshot failed", "table", j.qualified(), "client", j.client, "err", err)
			}
		}
	}
}
