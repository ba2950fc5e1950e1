// Package rowjson turns rows as PostgreSQL's row_to_json writes them into
// event rows that are byte for byte what the replication source emits for
// the same values. It recovers each value's text output form from its JSON
// (see form) and converts that with the replication source's own codecs
// (source.Codec), so both paths share one conversion. The triggers and
// listen sources use it.
package rowjson

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

// Built-in type OIDs whose row_to_json form is not the plain text output.
const (
	oidBool        = 16
	oidJSON        = 114
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidJSONB       = 3802
)

// Table is a captured table: its columns in attribute order, each with the
// codec and form of its type, and which of them make the key.
type Table struct {
	Schema, Name string
	Cols         []Column
	byName       map[string]int
	info         pipeline.TableInfo
}

// Column is one column of a Table.
type Column struct {
	Name  string
	Key   bool
	codec source.Codec
	form  *form
}

// Info describes the table for pipeline.Catalog.
func (t *Table) Info() pipeline.TableInfo { return t.info }

// Catalog holds the captured tables and resolves their types. Its
// pipeline.Catalog methods are safe for concurrent use; Load and Refresh
// are called by the one goroutine that owns conn.
type Catalog struct {
	conn   func(ctx context.Context) (*pgx.Conn, error)
	codecs *source.Codecs
	forms  map[uint32]*form
	pgx    *pgtype.Map

	mu      sync.RWMutex
	tables  map[string]*Table
	watches []func(pipeline.TableInfo)
}

var (
	_ pipeline.Catalog        = (*Catalog)(nil)
	_ pipeline.CatalogWatcher = (*Catalog)(nil)
)

// NewCatalog returns an empty catalog that asks the database conn returns
// about tables and types.
func NewCatalog(conn func(ctx context.Context) (*pgx.Conn, error)) *Catalog {
	return &Catalog{conn: conn, codecs: source.NewCodecs(conn), forms: map[uint32]*form{}, pgx: pgtype.NewMap(),
		tables: map[string]*Table{}}
}

// Tables implements pipeline.Catalog.
func (c *Catalog) Tables() []pipeline.TableInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]pipeline.TableInfo, 0, len(c.tables))
	for _, t := range c.tables {
		out = append(out, t.info)
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
func (c *Catalog) Table(schema, name string) (pipeline.TableInfo, bool) {
	t, ok := c.Get(schema, name)
	if !ok {
		return pipeline.TableInfo{}, false
	}
	return t.info, true
}

// Get returns the table schema.name as last loaded.
func (c *Catalog) Get(schema, name string) (*Table, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tables[schema+"."+name]
	return t, ok
}

// Watch implements pipeline.CatalogWatcher: fn is called after each table
// Load or Refresh changed.
func (c *Catalog) Watch(fn func(pipeline.TableInfo)) {
	c.mu.Lock()
	c.watches = append(c.watches, fn)
	c.mu.Unlock()
}

// Name is a table's schema and name.
type Name struct{ Schema, Table string }

// Load replaces the catalog with the tables names, as they are now. Tables
// that do not exist are left out.
func (c *Catalog) Load(ctx context.Context, names []Name) error {
	tables, err := c.read(ctx, names)
	if err != nil {
		return err
	}
	c.mu.Lock()
	old := c.tables
	c.tables = tables
	watches := slices.Clone(c.watches)
	c.mu.Unlock()
	for k, t := range tables {
		if o, ok := old[k]; !ok || !sameInfo(o.info, t.info) {
			for _, fn := range watches {
				fn(t.info)
			}
		}
	}
	return nil
}

// Refresh reloads one table (a column was added or its type changed) and
// returns it; false when the table does not exist (any more), in which
// case it is dropped from the catalog.
func (c *Catalog) Refresh(ctx context.Context, schema, name string) (*Table, bool, error) {
	tables, err := c.read(ctx, []Name{{schema, name}})
	if err != nil {
		return nil, false, err
	}
	k := schema + "." + name
	t, ok := tables[k]
	c.mu.Lock()
	old, had := c.tables[k]
	if ok {
		c.tables[k] = t
	} else {
		delete(c.tables, k)
	}
	watches := slices.Clone(c.watches)
	c.mu.Unlock()
	if ok && (!had || !sameInfo(old.info, t.info)) {
		for _, fn := range watches {
			fn(t.info)
		}
	}
	return t, ok, nil
}

func sameInfo(a, b pipeline.TableInfo) bool {
	return a.Schema == b.Schema && a.Table == b.Table && slices.Equal(a.Columns, b.Columns)
}

// columnsQuery lists the columns of the named tables with their types and
// whether each is part of the key: the replica identity index or else the
// primary key, as the replication source's key; with REPLICA IDENTITY FULL
// and no primary key, every column.
const columnsQuery = `WITH want AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(nspname, relname))
SELECT n.nspname, c.relname, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod),
  coalesce(a.attnum = ANY(i.indkey), c.relreplident = 'f' AND NOT EXISTS (
    SELECT 1 FROM pg_index p WHERE p.indrelid = c.oid AND p.indisprimary))
FROM want w
JOIN pg_namespace n ON n.nspname = w.nspname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.relname
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND (CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END)
ORDER BY 1, 2, a.attnum`

func (c *Catalog) read(ctx context.Context, names []Name) (map[string]*Table, error) {
	conn, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	schemas, rels := make([]string, len(names)), make([]string, len(names))
	for i, n := range names {
		schemas[i], rels[i] = n.Schema, n.Table
	}
	type col struct {
		schema, table, name, typ string
		oid                      uint32
		key                      bool
	}
	rows, err := conn.Query(ctx, columnsQuery, schemas, rels)
	if err != nil {
		return nil, fmt.Errorf("read the columns of the captured tables: %w", err)
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.schema, &c.table, &c.name, &c.oid, &c.typ, &c.key)
	})
	if err != nil {
		return nil, fmt.Errorf("read the columns of the captured tables: %w", err)
	}
	tables := map[string]*Table{}
	for _, cl := range cols {
		codec, err := c.codecs.Get(ctx, cl.oid)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s column %s: %w", cl.schema, cl.table, cl.name, err)
		}
		f, err := c.form(ctx, cl.oid, 0)
		if err != nil {
			return nil, fmt.Errorf("table %s.%s column %s: %w", cl.schema, cl.table, cl.name, err)
		}
		k := cl.schema + "." + cl.table
		t := tables[k]
		if t == nil {
			t = &Table{Schema: cl.schema, Name: cl.table, byName: map[string]int{}}
			// The capture trigger stores row_to_json(OLD): whole old rows.
			t.info = pipeline.TableInfo{Schema: cl.schema, Table: cl.table, FullIdentity: true}
			tables[k] = t
		}
		t.byName[cl.name] = len(t.Cols)
		t.Cols = append(t.Cols, Column{Name: cl.name, Key: cl.key, codec: codec, form: f})
		t.info.Columns = append(t.info.Columns, pipeline.ColumnInfo{Name: cl.name, Kind: codec.Kind(), Type: cl.typ, Key: cl.key})
	}
	return tables, nil
}

// form returns how row_to_json writes values of the type oid.
func (c *Catalog) form(ctx context.Context, oid uint32, depth int) (*form, error) {
	switch oid {
	case oidBool:
		return boolForm, nil
	case oidJSON, oidJSONB:
		return rawForm, nil
	case oidTimestamp:
		return stampForm, nil
	case oidTimestamptz:
		return stampTZForm, nil
	}
	if f, ok := c.forms[oid]; ok {
		return f, nil
	}
	if oid < 10000 {
		// A built-in type: the pgx type map knows its arrays; every other
		// built-in is plain.
		if t, ok := c.pgx.TypeForOID(oid); ok {
			if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
				elem, err := c.form(ctx, ac.ElementType.OID, depth+1)
				if err != nil {
					return nil, err
				}
				f := &form{kind: formArray, elem: elem, delim: builtinDelim(ac.ElementType.OID)}
				c.forms[oid] = f
				return f, nil
			}
		}
		if _, ok := c.pgx.TypeForOID(oid); ok {
			return plainForm, nil
		}
	}
	if depth > 8 {
		return plainForm, nil
	}
	conn, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	var typtype, category, delim string
	var elem, base, relid uint32
	err = conn.QueryRow(ctx, `SELECT t.typtype::text, t.typcategory::text, t.typelem, t.typbasetype, t.typrelid, coalesce(e.typdelim::text, ',')
FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem WHERE t.oid = $1`, oid).Scan(&typtype, &category, &elem, &base, &relid, &delim)
	if err == pgx.ErrNoRows {
		return plainForm, nil // dropped since: its values are kept as their JSON
	}
	if err != nil {
		return nil, fmt.Errorf("look up type %d: %w", oid, err)
	}
	f := plainForm
	switch {
	case typtype == "d" && base != 0:
		if f, err = c.form(ctx, base, depth+1); err != nil {
			return nil, err
		}
	case category == "A" && elem != 0:
		ef, err := c.form(ctx, elem, depth+1)
		if err != nil {
			return nil, err
		}
		f = &form{kind: formArray, elem: ef, delim: delim[0]}
	case typtype == "c" && relid != 0:
		f = &form{kind: formComposite}
		rows, err := conn.Query(ctx, `SELECT attname, atttypid FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, relid)
		if err != nil {
			return nil, fmt.Errorf("look up the attributes of type %d: %w", oid, err)
		}
		type attr struct {
			name string
			oid  uint32
		}
		attrs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (attr, error) {
			var a attr
			return a, r.Scan(&a.name, &a.oid)
		})
		if err != nil {
			return nil, fmt.Errorf("look up the attributes of type %d: %w", oid, err)
		}
		for _, a := range attrs {
			af, err := c.form(ctx, a.oid, depth+1)
			if err != nil {
				return nil, err
			}
			f.fields = append(f.fields, field{name: a.name, form: af})
		}
	}
	c.forms[oid] = f
	return f, nil
}

// oidBox is box, the one built-in type whose array delimiter is ';'.
const oidBox = 603

func builtinDelim(elem uint32) byte {
	if elem == oidBox {
		return ';'
	}
	return ','
}
