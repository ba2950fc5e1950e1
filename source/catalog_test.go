package source

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
)

func columnNames(t pipeline.TableInfo) string {
	var names []string
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

// TestCatalogRefreshAndWatch: Refresh reloads the publication's tables
// (a table added to the publication, a new column, a table no longer
// published); a Relation message that changes a table calls the watchers.
func TestCatalogRefreshAndWatch(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY, v text);
CREATE PUBLICATION pgcdc FOR TABLE a`)
	src := newTestSource(t, cl, Config{Slot: "pgcdc", Publication: "pgcdc", Create: true})
	cat := src.Catalog().(*catalog)
	cat.minGap = 0 // the rate limit has its own test
	ctx := context.Background()
	if _, ok := cat.Table("public", "b"); ok {
		t.Fatal("b is known before it is published")
	}
	mustPsql(t, cl, `ALTER PUBLICATION pgcdc ADD TABLE b; ALTER TABLE a ADD COLUMN extra text`)
	if err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if b, ok := cat.Table("public", "b"); !ok || columnNames(b) != "id,v" || !b.Columns[0].Key {
		t.Errorf("after Refresh, public.b = %+v, %v", b, ok)
	}
	if a, _ := cat.Table("public", "a"); columnNames(a) != "id,extra" {
		t.Errorf("after Refresh, public.a columns %s, want id,extra", columnNames(a))
	}
	mustPsql(t, cl, `ALTER PUBLICATION pgcdc DROP TABLE a`)
	if err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Table("public", "a"); ok {
		t.Error("public.a is still in the catalog after it left the publication")
	}

	changed := make(chan pipeline.TableInfo, 10)
	cat.Watch(func(ti pipeline.TableInfo) { changed <- ti })
	col := runSource(t, src)
	mustPsql(t, cl, `INSERT INTO b VALUES (1, 'x')`) // same columns as loaded: no change
	col.wait(t, 1)
	mustPsql(t, cl, `ALTER TABLE b ADD COLUMN w int; INSERT INTO b VALUES (2, 'y', 3)`)
	col.wait(t, 2)
	select {
	case ti := <-changed:
		if ti.Table != "b" || columnNames(ti) != "id,v,w" {
			t.Errorf("watcher got %s with columns %s, want b with id,v,w", ti.Table, columnNames(ti))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watcher call after a Relation message added a column")
	}
	select {
	case ti := <-changed:
		t.Errorf("a second watcher call (%s: %s) for one change", ti.Table, columnNames(ti))
	default:
	}
}

// TestCatalogRefreshRateLimit: within a second of a reload, Refresh
// returns that reload's result; concurrent callers share one reload.
func TestCatalogRefreshRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCatalog()
		var loads atomic.Int32
		release := make(chan struct{})
		c.reload = func(ctx context.Context) (map[string]pipeline.TableInfo, map[uint32][]string, error) {
			loads.Add(1)
			<-release
			return map[string]pipeline.TableInfo{"public.t": {Schema: "public", Table: "t"}}, nil, nil
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if err := c.Refresh(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if n := loads.Load(); n != 1 {
			t.Fatalf("5 concurrent Refresh calls made %d reloads, want 1", n)
		}
		// A Refresh within the second waits for the next reload rather
		// than answer from one older than the call.
		time.Sleep(400 * time.Millisecond)
		start := time.Now()
		_ = c.Refresh(context.Background())
		if n := loads.Load(); n != 2 {
			t.Fatalf("a Refresh within a second of the last did not reload after it (%d reloads)", n)
		}
		if waited := time.Since(start); waited != 600*time.Millisecond {
			t.Fatalf("it waited %s, want the 600ms left of the second", waited)
		}
		if lastCalled := c.lastLoad; time.Since(lastCalled) != 0 {
			t.Fatal("lastLoad not set by the reload")
		}
		if _, ok := c.Table("public", "t"); !ok {
			t.Error("the reloaded table is not in the catalog")
		}
	})
}

// TestWALEnd: Prepare reads the server's WAL end, and the stream keeps it
// current.
func TestWALEnd(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"wal_sender_timeout": "2s"}})
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY)`)
	lsn := func() pipeline.LSN {
		out, err := cl.Psql(context.Background(), "", `SELECT pg_current_wal_lsn()`)
		if err != nil {
			t.Fatal(err)
		}
		l, err := pipeline.ParseLSN(strings.TrimSpace(out))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	before := lsn()
	src := newTestSource(t, cl, Config{})
	if src.WALEnd() < before {
		t.Fatalf("WALEnd after Prepare = %s, want at least %s", src.WALEnd(), before)
	}
	prepared := src.WALEnd()
	runSource(t, src)
	mustPsql(t, cl, `INSERT INTO t SELECT generate_series(1, 1000)`)
	target := lsn()
	if target <= prepared {
		t.Fatalf("the insert did not move the WAL: %s", target)
	}
	deadline := time.Now().Add(30 * time.Second)
	for src.WALEnd() < target {
		if time.Now().After(deadline) {
			t.Fatalf("WALEnd stayed at %s, the server is at %s", src.WALEnd(), target)
		}
		time.Sleep(50 * time.Millisecond) // no signal for "a keepalive arrived"
	}
}

// TestCatalogReloadKeepsDroppedKeys: a reload after a table was dropped
// keeps its primary key, which its changes still in the slot need (CI:
// TestDroppedTypesAndTables failed when a reload, triggered by another
// table's first Relation message, came before the dropped table's).
func TestCatalogReloadKeepsDroppedKeys(t *testing.T) {
	c := newCatalog()
	c.replace(map[string]pipeline.TableInfo{"public.full_t": {Schema: "public", Table: "full_t"}}, map[uint32][]string{42: {"id"}})
	c.replace(map[string]pipeline.TableInfo{"public.b": {Schema: "public", Table: "b"}}, map[uint32][]string{43: {"k"}})
	if k, ok := c.primaryKey(42); !ok || strings.Join(k, ",") != "id" {
		t.Fatalf("the dropped table's key after a reload: %v %v", k, ok)
	}
	if k, _ := c.primaryKey(43); strings.Join(k, ",") != "k" {
		t.Fatalf("the new table's key: %v", k)
	}
	if _, ok := c.Table("public", "full_t"); ok {
		t.Fatal("the dropped table is still published")
	}
}
