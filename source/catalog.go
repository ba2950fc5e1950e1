package source

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// catalog implements pipeline.Catalog from pg_publication_tables, kept up
// to date by the Relation messages of the stream and by Refresh.
//
// It also remembers the primary key of every published table by OID, as
// of the last load: the key of a REPLICA IDENTITY FULL table whose
// changes are read after the table was dropped.
type catalog struct {
	mu       sync.RWMutex
	tables   map[string]pipeline.TableInfo
	keys     map[uint32][]string // relation OID → primary key columns
	watchers []func(pipeline.TableInfo)

	// reload reads the publication's tables from the database; nil when
	// there is none to ask (Refresh is then a no-op).
	reload   func(ctx context.Context) (map[string]pipeline.TableInfo, map[uint32][]string, error)
	minGap   time.Duration // between two reloads
	refresh  sync.Mutex    // guards the three below; never held during a reload
	loading  *reloadCall   // the reload in progress, nil if none
	lastLoad time.Time
	lastErr  error
}

// reloadCall is one reload that concurrent Refresh callers share.
type reloadCall struct {
	done    chan struct{} // closed when err is set
	err     error
	started time.Time
}

var (
	_ pipeline.Catalog          = (*catalog)(nil)
	_ pipeline.CatalogRefresher = (*catalog)(nil)
	_ pipeline.CatalogWatcher   = (*catalog)(nil)
)

// refreshGap is the least time between two reloads from the database.
const refreshGap = time.Second

func newCatalog() *catalog {
	return &catalog{tables: map[string]pipeline.TableInfo{}, keys: map[uint32][]string{}, minGap: refreshGap}
}

// Tables implements pipeline.Catalog.
func (c *catalog) Tables() []pipeline.TableInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]pipeline.TableInfo, 0, len(c.tables))
	for _, t := range c.tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Table < out[j].Table
	})
	return out
}

// Table implements pipeline.Catalog.
func (c *catalog) Table(schema, name string) (pipeline.TableInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tables[schema+"."+name]
	return t, ok
}

// Watch implements pipeline.CatalogWatcher: fn is called, from the
// goroutine that made the change, after a Relation message or a Refresh
// added a table or changed one. A table that leaves the publication is
// not reported. fn must not block.
func (c *catalog) Watch(fn func(pipeline.TableInfo)) {
	c.mu.Lock()
	c.watchers = append(c.watchers, fn)
	c.mu.Unlock()
}

// Refresh implements pipeline.CatalogRefresher. It reloads the
// publication's tables from the database, so that tables added to the
// publication and new columns become known, and tables no longer
// published disappear. Every caller gets the result of a reload that
// started after it called, never an older one, so a client asking about
// a table added a moment ago is not refused from a stale catalog; yet the
// database is asked at most once per second: a caller within that second
// of the last reload waits for the next one (or its ctx), and concurrent
// callers share one reload.
func (c *catalog) Refresh(ctx context.Context) error {
	if c.reload == nil {
		return nil
	}
	called := time.Now()
	for {
		c.refresh.Lock()
		if call := c.loading; call != nil {
			c.refresh.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if !call.started.Before(called) {
				return call.err // began after this call: fresh enough
			}
			continue // began before this call: it may have missed what the caller asks about
		}
		if wait := c.minGap - time.Since(c.lastLoad); !c.lastLoad.IsZero() && wait > 0 {
			c.refresh.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			continue
		}
		call := &reloadCall{done: make(chan struct{}), started: time.Now()}
		c.loading = call
		c.refresh.Unlock()

		tables, keys, err := c.reload(ctx)
		if err == nil {
			c.replace(tables, keys)
		}
		c.refresh.Lock()
		c.loading, c.lastLoad, c.lastErr = nil, time.Now(), err
		c.refresh.Unlock()
		call.err = err
		close(call.done)
		return err
	}
}

// replace installs a fresh load and tells the watchers what changed.
func (c *catalog) replace(tables map[string]pipeline.TableInfo, keys map[uint32][]string) {
	c.mu.Lock()
	var changed []pipeline.TableInfo
	for k, t := range tables {
		if old, ok := c.tables[k]; !ok || !sameTable(old, t) {
			changed = append(changed, t)
		}
	}
	// A table gone since the last load keeps its key: its changes may be
	// in the slot still, unread (a REPLICA IDENTITY FULL table dropped
	// before they were decoded keeps its primary key as their key). OIDs
	// are not reused before they wrap around, and the database's answer
	// comes first (Source.primaryKey).
	if keys == nil {
		keys = map[uint32][]string{}
	}
	for relID, k := range c.keys {
		if _, ok := keys[relID]; !ok {
			keys[relID] = k
		}
	}
	c.tables, c.keys = tables, keys
	watchers := c.watchers
	c.mu.Unlock()
	for _, t := range changed {
		for _, fn := range watchers {
			fn(t)
		}
	}
}

// primaryKey returns the primary key columns of relation relID as of the
// last load.
func (c *catalog) primaryKey(relID uint32) ([]string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[relID]
	return k, ok
}

// fromRelation updates the catalog from a Relation message.
func (c *catalog) fromRelation(rel *relation) {
	t := pipeline.TableInfo{Schema: rel.schema, Table: rel.name, Columns: make([]pipeline.ColumnInfo, len(rel.cols)), FullIdentity: rel.identity == 'f'}
	for i, col := range rel.cols {
		t.Columns[i] = pipeline.ColumnInfo{Name: col.name, Kind: col.conv.kind, Type: col.conv.typ, Key: col.key}
	}
	k := t.Schema + "." + t.Table
	c.mu.Lock()
	old, ok := c.tables[k]
	changed := !ok || !sameTable(old, t)
	c.tables[k] = t
	watchers := c.watchers
	c.mu.Unlock()
	if changed {
		for _, fn := range watchers {
			fn(t)
		}
	}
}

func sameTable(a, b pipeline.TableInfo) bool {
	return a.Schema == b.Schema && a.Table == b.Table && a.FullIdentity == b.FullIdentity && slices.Equal(a.Columns, b.Columns)
}

// publishedQuery lists the columns of every table of a publication, with
// the table's OID and replica identity, each column's type, whether it is
// in the replica identity index (the primary key for DEFAULT and FULL, the
// index for USING INDEX, none for NOTHING) and whether it is in the
// primary key.
const publishedQuery = `SELECT c.oid, n.nspname, c.relname, c.relreplident::text, a.attname, a.atttypid,
  coalesce(a.attnum = ANY(i.indkey), false), coalesce(a.attnum = ANY(pk.indkey), false)
FROM pg_publication_tables pt
JOIN pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND c.relreplident <> 'n'
  AND (CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END)
LEFT JOIN pg_index pk ON pk.indrelid = c.oid AND pk.indisprimary
WHERE pt.pubname = $1
ORDER BY 2, 3, a.attnum`

// loadPublished reads the tables publication has now, with their primary
// keys by OID. types converts the column types to kinds and type names.
// The columns and keys are what a Relation message for the table gives
// (fromRelation), so that a load and a message agree on an unchanged
// table.
func loadPublished(ctx context.Context, conn *pgx.Conn, publication string, types *typeRegistry) (map[string]pipeline.TableInfo, map[uint32][]string, error) {
	rows, err := conn.Query(ctx, publishedQuery, publication)
	if err != nil {
		return nil, nil, fmt.Errorf("read published tables of %q: %w", publication, err)
	}
	type col struct {
		relID, oid                    uint32
		schema, table, identity, name string
		key, pk                       bool
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.relID, &c.schema, &c.table, &c.identity, &c.name, &c.oid, &c.key, &c.pk)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read published tables of %q: %w", publication, err)
	}
	tables := map[string]pipeline.TableInfo{}
	keys := map[uint32][]string{}
	full := map[string]uint32{} // REPLICA IDENTITY FULL tables
	for _, cl := range cols {
		conv, err := types.get(ctx, cl.oid)
		if err != nil {
			return nil, nil, err
		}
		k := cl.schema + "." + cl.table
		t := tables[k]
		t.Schema, t.Table = cl.schema, cl.table
		t.Columns = append(t.Columns, pipeline.ColumnInfo{Name: cl.name, Kind: conv.kind, Type: conv.typ, Key: cl.key})
		tables[k] = t
		if cl.pk {
			keys[cl.relID] = append(keys[cl.relID], cl.name)
		}
		if cl.identity == "f" {
			full[k] = cl.relID
			t.FullIdentity = true
			tables[k] = t
		}
	}
	// A FULL table without a primary key is keyed by its whole row, as
	// the decoder keys its events.
	for k, relID := range full {
		if len(keys[relID]) == 0 {
			for i := range tables[k].Columns {
				tables[k].Columns[i].Key = true
			}
		}
	}
	return tables, keys, nil
}
