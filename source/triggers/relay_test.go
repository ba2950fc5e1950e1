package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// pkOf returns the "id" of an event's row as a string.
func pkOf(t *testing.T, e *pipeline.Event) string {
	t.Helper()
	r := e.After
	if r == nil {
		r = e.Before
	}
	c, ok := r.Get("id")
	if !ok {
		t.Fatalf("event without id: %s", e.Encoded())
	}
	return strings.Trim(string(c.Value), `"`)
}

// TestTerminateBackendLosesNothing runs concurrent writers that insert and
// update rows (each update bumps a version), kills the relay's connection
// with pg_terminate_backend again and again, and checks by primary key:
// every row and every version arrives, versions of a row in order, ids
// increasing, no duplicates (the pipeline acknowledged everything before
// each kill, and a reconnect resumes after what was read).
func TestTerminateBackendLosesNothing(t *testing.T) {
	cl := startCluster(t, `CREATE TABLE items (id bigint PRIMARY KEY, v int NOT NULL)`)
	col := newCollector()
	relay(t, cl, Config{}, col)
	ctx := context.Background()

	const writers, rows, versions = 4, 150, 3
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, cl.DSN(""))
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			for i := 0; i < rows; i++ {
				id := w*rows + i
				if _, err := conn.Exec(ctx, `INSERT INTO items VALUES ($1, 0)`, id); err != nil {
					errs <- err
					return
				}
				for v := 1; v < versions; v++ {
					if _, err := conn.Exec(ctx, `UPDATE items SET v = $2 WHERE id = $1`, id, v); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	admin := connect(t, cl)
	kills := 0
	for done := false; !done; {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(150 * time.Millisecond):
		}
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		kills += n
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
			done = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs := col.wait(t, writers*rows*versions)
	if kills < 2 {
		t.Fatalf("the relay's connection was terminated %d times, want at least 2", kills)
	}
	last := map[string]int{}
	seen := map[string]bool{}
	prev := ""
	for _, e := range evs {
		id := e.ID()
		if id <= prev {
			t.Fatalf("event id %s after %s", id, prev)
		}
		prev = id
		if seen[id] {
			t.Fatalf("event %s delivered twice", id)
		}
		seen[id] = true
		pk := pkOf(t, e)
		c, _ := e.After.Get("v")
		var v int
		if err := json.Unmarshal(c.Value, &v); err != nil {
			t.Fatal(err)
		}
		if got, ok := last[pk]; (ok && v != got+1) || (!ok && v != 0) {
			t.Fatalf("row %s: version %d after %d", pk, v, got)
		}
		last[pk] = v
	}
	if len(evs) != writers*rows*versions || len(last) != writers*rows {
		t.Fatalf("%d events for %d rows, want %d for %d", len(evs), len(last), writers*rows*versions, writers*rows)
	}
	t.Logf("%d events over %d kills of the relay's connection: none lost, none twice, versions in order", len(evs), kills)
}

// TestUnacknowledgedTailIsResent stops a relay whose pipeline acknowledged
// only part of what it got, as a crash would leave it, and checks that a
// new relay sends exactly the unacknowledged rows again, with the same ids.
func TestUnacknowledgedTailIsResent(t *testing.T) {
	cl := startCluster(t, `CREATE TABLE items (id bigint PRIMARY KEY)`)
	col := newCollector()
	col.manual = true
	_, stop := relay(t, cl, Config{}, col)
	mustPsql(t, cl, `INSERT INTO items SELECT g FROM generate_series(1, 10) g`)
	mustPsql(t, cl, `INSERT INTO items SELECT g FROM generate_series(11, 20) g`)
	first := col.wait(t, 20)
	// Acknowledge the first transaction only.
	col.mu.Lock()
	col.confirmed = col.pending[0]
	col.mu.Unlock()
	waitFor(t, "the first transaction's rows deleted", func() bool {
		return mustPsql(t, cl, `SELECT count(*) FROM pgcdc.outbox`) == "10"
	})
	stop()
	col2 := newCollector()
	relay(t, cl, Config{}, col2)
	again := col2.wait(t, 10)
	for i, e := range again {
		if e.ID() != first[10+i].ID() || string(e.Encoded()) != string(first[10+i].Encoded()) {
			t.Fatalf("resent event %d: %s, first sent as %s", i, e.Encoded(), first[10+i].Encoded())
		}
	}
	waitFor(t, "the outbox empty", func() bool { return mustPsql(t, cl, `SELECT count(*) FROM pgcdc.outbox`) == "0" })
}

// TestTwoRelays starts two relays on one outbox: one delivers, the other
// waits; when the first stops, the second takes over, and every row is
// delivered once, by one of them.
func TestTwoRelays(t *testing.T) {
	cl := startCluster(t, `CREATE TABLE items (id bigint PRIMARY KEY)`)
	colA, colB := newCollector(), newCollector()
	a, stopA := relay(t, cl, Config{}, colA)
	waitFor(t, "relay A active", a.Ready)
	b, _ := relay(t, cl, Config{}, colB)
	mustPsql(t, cl, `INSERT INTO items SELECT g FROM generate_series(1, 500) g`)
	for i := 501; i <= 700; i++ {
		mustPsql(t, cl, fmt.Sprintf(`INSERT INTO items VALUES (%d)`, i))
		if i == 600 {
			waitFor(t, "relay A caught up", func() bool { return colA.count() >= 600 })
			stopA()
		}
	}
	waitFor(t, "relay B took over", b.Ready)
	waitFor(t, "all rows", func() bool { return colA.count()+colB.count() >= 700 })
	seen := map[string]int{}
	for _, e := range append(colA.wait(t, 0), colB.wait(t, 0)...) {
		seen[pkOf(t, e)]++
	}
	for i := 1; i <= 700; i++ {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Fatalf("row %d delivered %d times", i, n)
		}
	}
	if colA.count() < 600 || colB.count() == 0 {
		t.Fatalf("relay A delivered %d, relay B %d: want A the first 600 and B the rest", colA.count(), colB.count())
	}
}

// TestLargeRowAndTransaction sends a 1 MB row (far past NOTIFY's 8000
// bytes) and a transaction of 100,000 rows: both arrive whole, the big
// transaction as many bounded batches with the End on the last only.
func TestLargeRowAndTransaction(t *testing.T) {
	cl := startCluster(t, `CREATE TABLE docs (id bigint PRIMARY KEY, body text)`)
	col := newCollector()
	relay(t, cl, Config{BatchEvents: 1000, PageBytes: 4 << 20}, col)
	mustPsql(t, cl, `INSERT INTO docs SELECT 0, string_agg(md5(g::text), '') FROM generate_series(1, 32768) g`)
	evs := col.wait(t, 1)
	if c, _ := evs[0].After.Get("body"); len(c.Value) != 32768*32+2 {
		t.Fatalf("1 MB row arrived with a body of %d bytes", len(c.Value))
	}
	mustPsql(t, cl, `INSERT INTO docs SELECT g, md5(g::text) FROM generate_series(1, 100000) g`)
	evs = col.wait(t, 100001)
	waitFor(t, "the transaction's end", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return col.batches[len(col.batches)-1].End != 0
	})
	col.mu.Lock()
	defer col.mu.Unlock()
	batches := col.batches[1:]
	for i, b := range batches {
		if len(b.Events) > 1000 || b.Bytes > 4<<20+1<<20 {
			t.Fatalf("batch %d holds %d events, %d bytes: want at most 1000 and the page budget", i, len(b.Events), b.Bytes)
		}
		if (b.End != 0) != (i == len(batches)-1) {
			t.Fatalf("batch %d of %d has End %v", i, len(batches), b.End)
		}
	}
	for i, e := range evs[1:] {
		if e.Seq != uint32(i) || pkOf(t, e) != fmt.Sprint(i+1) {
			t.Fatalf("event %d: seq %d, id %s", i, e.Seq, pkOf(t, e))
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a database state: there is no signal to wait on
	}
}
