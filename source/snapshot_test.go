package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// replica applies events in order to a copy of a table keyed by "id", as
// a consumer would: reads and inserts and updates put the row, deletes
// remove it. It fails the test on a read that is older than a change
// already applied for the same key.
type replica struct {
	t       *testing.T
	rows    map[string]string // id -> the row's JSON
	changed map[string]bool   // keys a change was applied to
	reads   int
	stale   int
	started map[string]bool // snapshot ids
	done    map[string]bool
}

func newReplica(t *testing.T) *replica {
	return &replica{t: t, rows: map[string]string{}, changed: map[string]bool{}, started: map[string]bool{}, done: map[string]bool{}}
}

func idOfRow(t *testing.T, r pipeline.Row) string {
	t.Helper()
	c, ok := r.Get("id")
	if !ok {
		t.Fatalf("row without id: %s", r.AppendJSON(nil))
	}
	return string(c.Value)
}

func (m *replica) apply(e *pipeline.Event) {
	switch e.Op {
	case pipeline.OpSnapshotStarted:
		m.started[e.Snapshot.ID] = true
	case pipeline.OpSnapshotCompleted:
		m.done[e.Snapshot.ID] = true
	case pipeline.OpRead:
		m.reads++
		id := idOfRow(m.t, e.After)
		row := string(e.After.AppendJSON(nil))
		if m.changed[id] && m.rows[id] != row && m.rows[id] != "incomplete" {
			m.stale++ // a read older than an applied change
		}
		m.rows[id] = row
	case pipeline.OpInsert, pipeline.OpUpdate:
		id := idOfRow(m.t, e.After)
		if e.Op == pipeline.OpUpdate && e.Before != nil {
			if old := idOfRow(m.t, e.Before); old != id {
				delete(m.rows, old)
				m.changed[old] = true
			}
		}
		row := e.After
		if len(e.UnchangedToast) > 0 {
			// Keep the values the update did not send. Without a row to
			// take them from, the row is incomplete until a read brings it.
			var prev map[string]json.RawMessage
			if err := json.Unmarshal([]byte(m.rows[id]), &prev); err != nil {
				m.rows[id] = "incomplete"
				m.changed[id] = true
				return
			}
			for _, c := range e.UnchangedToast {
				row = append(row, pipeline.Column{Name: c, Value: prev[c]})
			}
			row = orderLike(row, prev)
		}
		m.rows[id] = string(row.AppendJSON(nil))
		m.changed[id] = true
	case pipeline.OpDelete:
		r := e.Before
		if r == nil {
			r = e.Key
		}
		id := idOfRow(m.t, r)
		delete(m.rows, id)
		m.changed[id] = true
	}
}

// orderLike orders r's columns by the table's column order (id, v, note).
func orderLike(r pipeline.Row, _ map[string]json.RawMessage) pipeline.Row {
	out := make(pipeline.Row, 0, len(r))
	for _, name := range []string{"id", "v", "note"} {
		if c, ok := r.Get(name); ok {
			out = append(out, c)
		}
	}
	return out
}

// tableRows reads the table as the replica should have it.
func tableRows(t *testing.T, db *pgx.Conn) map[string]string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id::text, json_build_object('id', id, 'v', v, 'note', note)::text FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, js string
		if err := rows.Scan(&id, &js); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(js), &m)
		b, _ := json.Marshal(m) // compare as canonical JSON
		out[id] = string(b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func canonical(t *testing.T, rows map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range rows {
		if v == "incomplete" {
			out[k] = v // an update without its TOASTed value and no read after it
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatalf("row %s: %v", k, err)
		}
		b, _ := json.Marshal(m)
		out[k] = string(b)
	}
	return out
}

// writer changes the table until stopped: updates, deletes, inserts of new
// and of deleted keys, some updates of a TOASTed table leaving the big
// value unchanged.
func writer(ctx context.Context, t *testing.T, cl *pgcluster.Cluster, maxID, newIDs int, wg *sync.WaitGroup) {
	defer wg.Done()
	db, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		if ctx.Err() == nil { // not stopped before it connected
			t.Error(err)
		}
		return
	}
	defer db.Close(context.Background())
	next := newIDs // new keys of this writer start here
	for n := 0; ctx.Err() == nil; n++ {
		id := 1 + rand.N(maxID)
		var err error
		switch n % 5 {
		case 0, 1:
			_, err = db.Exec(ctx, `UPDATE t SET v = v + 1 WHERE id = $1`, id)
		case 2:
			_, err = db.Exec(ctx, `DELETE FROM t WHERE id = $1`, id)
		case 3:
			_, err = db.Exec(ctx, `INSERT INTO t (id, v, note) VALUES ($1, 0, 'new') ON CONFLICT (id) DO UPDATE SET v = -1`, id)
		case 4:
			_, err = db.Exec(ctx, `INSERT INTO t (id, v, note) VALUES ($1, 0, 'later')`, next)
			next++
		}
		if err != nil && ctx.Err() == nil {
			t.Errorf("writer: %v", err)
			return
		}
	}
}

// runSnapshotSource runs a Source with an initial snapshot into a
// collector until stop, returning it.
func runSnapshotSource(t *testing.T, cl *pgcluster.Cluster, chunk int) (*collector, func()) {
	t.Helper()
	return runSnapshotSourceAs(t, cl.DSN(""), chunk)
}

// runSnapshotSourceAs is runSnapshotSource for the role of dsn.
func runSnapshotSourceAs(t *testing.T, dsn string, chunk int) (*collector, func()) {
	t.Helper()
	conn, err := NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	src := New(conn, Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"public.t"}, Create: true, BatchEvents: 500,
		Snapshot: SnapshotInitial, SnapshotChunkRows: chunk, StatusInterval: time.Second}, nil)
	if err := src.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, col, col) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("source.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return col, stop
}

// waitCompleted waits until the collector has a snapshot_completed event.
func (c *collector) waitCompleted(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if e.Op == pipeline.OpSnapshotCompleted {
				c.mu.Unlock()
				return
			}
		}
		n := len(c.events)
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("no snapshot_completed within %s (%d events)", timeout, n)
		}
	}
}

// TestSnapshotConvergesUnderWrites: 100,000 existing rows, snapshotted in
// chunks while inserts, updates and deletes run: a consumer applying the
// read and change events in order ends with exactly the table, and no read
// is older than a change it saw before.
func TestSnapshotConvergesUnderWrites(t *testing.T) {
	const rows = 100_000
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, fmt.Sprintf(`CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO t SELECT g, 0, 'n' || g FROM generate_series(1, %d) g;
CREATE PUBLICATION pgcdc FOR TABLE t`, rows))
	col, stop := runSnapshotSource(t, cl, 5000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go writer(ctx, t, cl, rows, 1_000_000, &wg)
	go writer(ctx, t, cl, rows, 2_000_000, &wg)
	col.waitCompleted(t, 3*time.Minute)
	cancel()
	wg.Wait()
	drainAndStop(t, cl, col, stop)
	m := newReplica(t)
	for _, e := range col.events {
		m.apply(e)
	}
	_, db := connectSQL(t, cl.DSN(""))
	want := tableRows(t, db)
	got := canonical(t, m.rows)
	compareRows(t, got, want)
	if m.stale > 0 {
		t.Errorf("%d reads were older than a change already applied for the same key", m.stale)
	}
	if len(m.started) != 1 || len(m.done) != 1 {
		t.Errorf("snapshot_started %d, snapshot_completed %d; want one each", len(m.started), len(m.done))
	}
	if m.reads < rows/2 {
		t.Errorf("only %d reads of %d rows", m.reads, rows)
	}
	t.Logf("%d reads, %d events in all", m.reads, len(col.events))
}

func waitFor(t *testing.T, c *collector, match func(*pipeline.Event) bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if match(e) {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatal("timed out waiting for an event")
		}
	}
}

func compareRows(t *testing.T, got, want map[string]string) {
	t.Helper()
	missing, extra, differ := 0, 0, 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			if missing++; missing <= 5 {
				t.Errorf("row %s is missing: %s", k, w)
			}
		case g != w:
			if differ++; differ <= 5 {
				t.Errorf("row %s is %s, want %s", k, g, w)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if extra++; extra <= 5 {
				t.Errorf("row %s should not be there: %s", k, g)
			}
		}
	}
	if missing+extra+differ > 0 {
		t.Errorf("%d rows missing, %d extra, %d different (of %d)", missing, extra, differ, len(want))
	}
}

// TestSnapshotToastUpdatedDuring: rows whose TOASTed value an update
// leaves out (unchanged_toast) while their chunk is read are read again,
// so that a consumer that never had the row gets the whole of it.
func TestSnapshotToastUpdatedDuring(t *testing.T) {
	const rows = 3000
	cl := pgclustertest.Start(t, pgcluster.Options{})
	// Random text does not compress: each note is stored out of line.
	mustPsql(t, cl, fmt.Sprintf(`CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);
ALTER TABLE t ALTER note SET STORAGE EXTERNAL;
INSERT INTO t SELECT g, 0, (SELECT string_agg(md5(random()::text || h), '') FROM generate_series(1, 100) h) FROM generate_series(1, %d) g;
CREATE PUBLICATION pgcdc FOR TABLE t`, rows))
	col, stop := runSnapshotSource(t, cl, 200)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		db, err := pgx.Connect(ctx, cl.DSN(""))
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close(context.Background())
		for ctx.Err() == nil {
			if _, err := db.Exec(ctx, `UPDATE t SET v = v + 1 WHERE id = $1`, 1+rand.N(rows)); err != nil && ctx.Err() == nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	}()
	col.waitCompleted(t, 3*time.Minute)
	cancel()
	wg.Wait()
	drainAndStop(t, cl, col, stop)
	m := newReplica(t)
	toast := 0
	for _, e := range col.events {
		if len(e.UnchangedToast) > 0 {
			toast++
		}
		m.apply(e)
	}
	_, db := connectSQL(t, cl.DSN(""))
	compareRows(t, canonical(t, m.rows), tableRows(t, db))
	if m.stale > 0 {
		t.Errorf("%d reads were older than a change already applied", m.stale)
	}
	if toast == 0 {
		t.Fatal("no update left a TOASTed value out: the test did not test anything")
	}
	t.Logf("%d updates without their TOASTed value, %d reads", toast, m.reads)
}

// TestSnapshotKeys: a table without a primary key is read by a unique
// index on NOT NULL columns; one with neither fails its snapshot with the
// table and the fix named, and the stream goes on; a table added to the
// publication later gets its initial snapshot too.
func TestSnapshotKeys(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);
CREATE TABLE byidx (code text NOT NULL, n int);
CREATE UNIQUE INDEX ON byidx (code);
ALTER TABLE byidx REPLICA IDENTITY FULL;
CREATE TABLE nokey (a int, b int);
INSERT INTO t VALUES (1, 1, 'a');
INSERT INTO byidx SELECT 'c' || g, g FROM generate_series(1, 50) g;
INSERT INTO nokey VALUES (1, 2);
CREATE TABLE later (id int PRIMARY KEY);
INSERT INTO later SELECT generate_series(1, 30);
CREATE PUBLICATION pgcdc FOR TABLE t, byidx, nokey`)
	col, stop := runSnapshotSource(t, cl, 100)
	// t and byidx complete; nokey fails.
	waitFor(t, col, func(e *pipeline.Event) bool {
		return e.Op == pipeline.OpSnapshotCompleted && e.Table == "byidx"
	})
	_, db := connectSQL(t, cl.DSN(""))
	var state, reason string
	deadline := time.Now().Add(time.Minute)
	for {
		if err := db.QueryRow(context.Background(), `SELECT state, coalesce(error, '') FROM pgcdc.snapshots WHERE table_name = 'nokey'`).Scan(&state, &reason); err != nil {
			t.Fatal(err)
		}
		if state == "failed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the progress table
	}
	if state != "failed" || !strings.Contains(reason, "public.nokey") || !strings.Contains(reason, "ADD PRIMARY KEY") {
		t.Fatalf("snapshot of a table without a key: state %q, error %q", state, reason)
	}
	mustPsql(t, cl, `ALTER PUBLICATION pgcdc ADD TABLE later`)
	waitFor(t, col, func(e *pipeline.Event) bool {
		return e.Op == pipeline.OpSnapshotCompleted && e.Table == "later"
	})
	stop()
	reads := map[string]int{}
	for _, e := range col.events {
		if e.Op == pipeline.OpRead {
			reads[e.Table]++
			if e.Table == "byidx" && (len(e.Key) != 1 || e.Key[0].Name != "code") && len(e.Key) != 2 {
				t.Errorf("byidx read keyed by %s", e.Key.AppendJSON(nil))
			}
		}
	}
	if reads["t"] != 1 || reads["byidx"] != 50 || reads["later"] != 30 || reads["nokey"] != 0 {
		t.Fatalf("reads per table %v, want t 1, byidx 50, later 30, nokey 0", reads)
	}
}

// TestClientSnapshotLimits: a live client's snapshot is refused when the
// tables hold more rows than it may take, or are not published.
func TestClientSnapshotLimits(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO t SELECT g, 0, 'x' FROM generate_series(1, 100) g;
CREATE PUBLICATION pgcdc FOR TABLE t`)
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	src := New(conn, Config{Slot: "pgcdc", Publication: "pgcdc", Create: true}, nil)
	if err := src.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = src.SnapshotForClient(ctx, ClientSnapshot{Tables: []string{"public.t"}, Sink: "live", Client: "c1", MaxRows: 10})
	if !errors.Is(err, ErrSnapshotTooLarge) || !strings.Contains(err.Error(), "more than 10 rows") {
		t.Fatalf("100 rows for a limit of 10: %v", err)
	}
	if err := src.SnapshotForClient(ctx, ClientSnapshot{Tables: []string{"public.nope"}, Sink: "live", Client: "c1", MaxRows: 10}); err == nil || !strings.Contains(err.Error(), "not published") {
		t.Fatalf("an unpublished table: %v", err)
	}
	if err := src.SnapshotForClient(ctx, ClientSnapshot{Tables: []string{"public.t"}, Sink: "live", Client: "c1", MaxRows: 1000}); err != nil {
		t.Fatalf("within the limit: %v", err)
	}
}

// TestSnapshotWaitsForCommitNotYetVisible: a transaction committed in the
// WAL, decoded and delivered, but not yet visible to new snapshots (its
// backend waits for a synchronous standby that does not answer) is not
// overwritten by a read that cannot see it: the snapshot waits until it
// is visible, and the consumer ends with the row as it is. Also when the
// pgcdc that snapshots is not the one that decoded the transaction (a
// restart in between).
func TestSnapshotWaitsForCommitNotYetVisible(t *testing.T) {
	t.Run("same process", func(t *testing.T) { testSnapshotWaitsForCommit(t, false) })
	t.Run("after a restart", func(t *testing.T) { testSnapshotWaitsForCommit(t, true) })
}

func testSnapshotWaitsForCommit(t *testing.T, restart bool) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO t SELECT g, 0, 'n' FROM generate_series(1, 10) g;
CREATE PUBLICATION pgcdc FOR TABLE t;
CREATE TABLE sync_probe (x int)`)
	col, stop := runSnapshotSource(t, cl, 5000)
	col.waitCompleted(t, time.Minute)
	ctx := context.Background()
	_, db := connectSQL(t, cl.DSN(""))
	if _, err := db.Exec(ctx, `SET synchronous_commit = local`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER SYSTEM SET synchronous_standby_names = 'pgcdc_test_absent'`, `SELECT pg_reload_conf()`} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	writer, pid := connectWithPID(t, cl)
	defer writer.Close(ctx)
	waitSyncRepEnforced(t, cl, db)
	updated := make(chan error, 1)
	go func() {
		_, err := writer.Exec(ctx, `UPDATE t SET v = 1 WHERE id = 5`)
		updated <- err
	}()
	// The deferred Close must not run while the update still uses the
	// connection (a failed check returns early): its wait is cancelled and
	// waited for first. Deferred calls run last first.
	finished := false
	defer func() {
		if !finished {
			_, _ = db.Exec(ctx, `SELECT pg_cancel_backend($1)`, pid)
			<-updated
		}
	}()
	// The update is decoded and delivered while its backend still waits.
	waitFor(t, col, func(e *pipeline.Event) bool { return e.Op == pipeline.OpUpdate })
	var v int
	if err := db.QueryRow(ctx, `SELECT v FROM t WHERE id = 5`).Scan(&v); err != nil || v != 0 {
		t.Fatalf("the update should not be visible yet: v = %d, %v", v, err)
	}
	var delivered []*pipeline.Event
	if restart {
		stop()
		delivered = col.events
		col, stop = runSnapshotSource(t, cl, 5000) // the same slot, after the update
	}
	waits := testutil.ToFloat64(metricSnapshotVisibilityWaits)
	job, err := RequestSnapshot(ctx, db, "pgcdc", SnapshotRequest{Schema: "public", Table: "t"})
	if err != nil {
		t.Fatal(err)
	}
	completed := func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		for _, e := range col.events {
			if e.Op == pipeline.OpSnapshotCompleted && e.Snapshot.ID == job {
				return true
			}
		}
		return false
	}
	// The snapshot waits (or, wrongly, completes without the update).
	deadline := time.Now().Add(time.Minute)
	for testutil.ToFloat64(metricSnapshotVisibilityWaits) <= waits && !completed() {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot neither waited nor completed")
		}
		time.Sleep(10 * time.Millisecond) // polling a counter
	}
	waited := !completed()
	if _, err := db.Exec(ctx, `SELECT pg_cancel_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	err = <-updated
	finished = true
	if err != nil {
		t.Fatalf("the update, its wait cancelled: %v", err) // a warning: it committed locally
	}
	for deadline = time.Now().Add(time.Minute); !completed(); {
		if time.Now().After(deadline) {
			t.Fatal("the second snapshot did not complete")
		}
		select {
		case <-col.notify:
		case <-time.After(time.Second):
		}
	}
	stop()
	if !waited {
		t.Error("the snapshot completed while a transaction it had delivered was invisible to its reads")
	}
	m := newReplica(t)
	reads := 0
	for _, e := range append(delivered, col.events...) {
		m.apply(e)
		if e.Op == pipeline.OpRead && e.Snapshot.ID == job {
			reads++
		}
	}
	compareRows(t, canonical(t, m.rows), tableRows(t, db))
	if m.stale > 0 {
		t.Errorf("%d reads were older than a change already applied", m.stale)
	}
	if reads != 10 {
		t.Errorf("%d reads of the requested snapshot, want 10", reads)
	}
}

// TestSnapshotNonSuperuser: an initial snapshot under writes as a role that
// is not a superuser (REPLICATION, CREATE on the database for pgcdc's
// progress table, the owner of the table), as on a managed database: the
// progress table, the watermarks, the chunk's snapshot and its check of
// pg_stat_activity all work, and the consumer ends with the table.
func TestSnapshotNonSuperuser(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE ROLE app LOGIN PASSWORD 'app-pw' REPLICATION;
GRANT CREATE ON DATABASE postgres TO app;
CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL, note text); ALTER TABLE t OWNER TO app;
INSERT INTO t SELECT g, 0, 'n' FROM generate_series(1, 3000) g;
CREATE PUBLICATION pgcdc FOR TABLE t; ALTER PUBLICATION pgcdc OWNER TO app`)
	// The writer starts first: 3,000 rows snapshot in well under a second,
	// and a writer started after the source had not connected yet when
	// the snapshot completed (a run with no writes, and a spurious error).
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go writer(ctx, t, cl, 3000, 1_000_000, &wg)
	col, stop := runSnapshotSourceAs(t, cl.UserDSN("app", "app-pw", ""), 500)
	col.waitCompleted(t, time.Minute)
	cancel()
	wg.Wait()
	drainAndStop(t, cl, col, stop)
	m := newReplica(t)
	for _, e := range col.events {
		m.apply(e)
	}
	_, db := connectSQL(t, cl.DSN(""))
	compareRows(t, canonical(t, m.rows), tableRows(t, db))
	if m.stale > 0 || m.reads < 1500 {
		t.Errorf("%d stale reads, %d reads of 3000 rows", m.stale, m.reads)
	}
}

// waitSyncRepEnforced returns once a commit waits for the synchronous
// standby that synchronous_standby_names names (and that does not exist).
// A backend sees the reloaded setting before commits wait for it: the
// checkpointer publishes it to shared memory when it gets to the reload
// (CI: an update committed at once, though its session showed the new
// setting). So a probe insert into a table outside the publication runs
// until one waits (its wait_event is SyncRep), which is then cancelled: it
// commits locally.
func waitSyncRepEnforced(t *testing.T, cl *pgcluster.Cluster, db *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	probe, pid := connectWithPID(t, cl)
	defer probe.Close(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		done := make(chan error, 1)
		go func() {
			_, err := probe.Exec(ctx, `INSERT INTO sync_probe VALUES (1)`)
			done <- err
		}()
		if probeWaits(t, db, pid, done) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("commits did not wait for the synchronous standby within a minute of the reload")
		}
		time.Sleep(10 * time.Millisecond) // no signal for the checkpointer's reload
	}
}

// probeWaits reports whether the probe (backend pid, ending on done)
// waits for a synchronous standby; one that does is cancelled.
func probeWaits(t *testing.T, db *pgx.Conn, pid int, done <-chan error) bool {
	ctx := context.Background()
	for {
		select {
		case err := <-done: // committed without waiting
			if err != nil {
				t.Fatal(err)
			}
			return false
		default:
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			if _, err := db.Exec(ctx, `SELECT pg_cancel_backend($1)`, pid); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the probe, its wait cancelled: %v", err)
			}
			return true
		}
		time.Sleep(time.Millisecond) // polling pg_stat_activity
	}
}

// connectWithPID opens a connection and returns it with its backend's pid.
func connectWithPID(t *testing.T, cl *pgcluster.Cluster) (*pgx.Conn, int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	return conn, pid
}

// drainAndStop writes a marker row after the last write and stops the
// source once the marker arrived: then every change before it did.
func drainAndStop(t *testing.T, cl *pgcluster.Cluster, col *collector, stop func()) {
	t.Helper()
	mustPsql(t, cl, `INSERT INTO t VALUES (-1, 0, 'marker')`)
	waitFor(t, col, func(e *pipeline.Event) bool {
		return e.Op == pipeline.OpInsert && strings.Contains(string(e.Encoded()), `"marker"`)
	})
	stop()
}
