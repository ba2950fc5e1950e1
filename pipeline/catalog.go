package pipeline

import "context"

// TableInfo describes one table a source publishes.
type TableInfo struct {
	Schema  string
	Table   string
	Columns []ColumnInfo
	// FullIdentity: the table has REPLICA IDENTITY FULL, so an update's
	// or a delete's old row carries every column (ColumnInfo.Key is then
	// the event key: the primary key, or every column without one).
	FullIdentity bool
}

// ColumnInfo describes one column of a published table.
type ColumnInfo struct {
	Name string
	Kind Kind
	Type string // the database's type name, e.g. "int8", "text[]"
	Key  bool   // part of the replica identity
}

// Catalog describes the tables a source publishes, so that sinks can reject
// a subscription to an unknown table or column instead of silently matching
// nothing. Implementations are safe for concurrent use.
type Catalog interface {
	// Tables returns every published table, sorted by schema and name.
	Tables() []TableInfo
	// Table returns the table schema.name.
	Table(schema, name string) (TableInfo, bool)
}

// StaticCatalog is a fixed Catalog, for tests and sources without schema
// discovery.
type StaticCatalog []TableInfo

// Tables implements Catalog.
func (c StaticCatalog) Tables() []TableInfo { return c }

// Table implements Catalog.
func (c StaticCatalog) Table(schema, name string) (TableInfo, bool) {
	for _, t := range c {
		if t.Schema == schema && t.Table == name {
			return t, true
		}
	}
	return TableInfo{}, false
}

// CatalogRefresher is implemented by catalogs that can reload what they
// describe from the database. A subscription that names a table or column
// the catalog does not know (a table added to the publication since the
// last relation message, a column added since) calls Refresh once before
// it answers "not published" or "unknown column"; a table no longer
// published disappears from the catalog. Refresh is safe for concurrent
// use and rate-limits itself.
type CatalogRefresher interface {
	Refresh(ctx context.Context) error
}

// CatalogWatcher is implemented by catalogs that change while the pipeline
// runs (a relation message with a new column or a new table). Watch
// registers fn, which is called after each change with the table as it is
// now; fn must not block.
type CatalogWatcher interface {
	Watch(fn func(TableInfo))
}
