package source

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// catalog implements pipeline.Catalog from pg_publication_tables, kept up
// to date by the Relation messages of the stream.
type catalog struct {
	mu     sync.RWMutex
	tables map[string]pipeline.TableInfo
}

var _ pipeline.Catalog = (*catalog)(nil)

func newCatalog() *catalog { return &catalog{tables: map[string]pipeline.TableInfo{}} }

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

func (c *catalog) Table(schema, name string) (pipeline.TableInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tables[schema+"."+name]
	return t, ok
}

func (c *catalog) set(t pipeline.TableInfo) {
	c.mu.Lock()
	c.tables[t.Schema+"."+t.Table] = t
	c.mu.Unlock()
}

// fromRelation updates the catalog from a Relation message.
func (c *catalog) fromRelation(rel *relation) {
	t := pipeline.TableInfo{Schema: rel.schema, Table: rel.name, Columns: make([]pipeline.ColumnInfo, len(rel.cols))}
	for i, col := range rel.cols {
		t.Columns[i] = pipeline.ColumnInfo{Name: col.name, Kind: col.conv.kind, Type: col.conv.typ, Key: col.key}
	}
	c.set(t)
}

// load replaces the catalog with the tables the publication has now.
func (c *catalog) load(ctx context.Context, conn *pgx.Conn, publication string, types *typeRegistry) error {
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod),
  coalesce(a.attnum = ANY(i.indkey), false)
FROM pg_publication_tables pt
JOIN pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND (CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END)
WHERE pt.pubname = $1
ORDER BY 1, 2, a.attnum`, publication)
	if err != nil {
		return fmt.Errorf("read published tables of %q: %w", publication, err)
	}
	type col struct {
		schema, table, name, typ string
		oid                      uint32
		key                      bool
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.schema, &c.table, &c.name, &c.oid, &c.typ, &c.key)
	})
	if err != nil {
		return fmt.Errorf("read published tables of %q: %w", publication, err)
	}
	tables := map[string]pipeline.TableInfo{}
	for _, cl := range cols {
		conv, err := types.get(ctx, cl.oid)
		if err != nil {
			return err
		}
		k := cl.schema + "." + cl.table
		t := tables[k]
		t.Schema, t.Table = cl.schema, cl.table
		t.Columns = append(t.Columns, pipeline.ColumnInfo{Name: cl.name, Kind: conv.kind, Type: cl.typ, Key: cl.key})
		tables[k] = t
	}
	c.mu.Lock()
	c.tables = tables
	c.mu.Unlock()
	return nil
}
