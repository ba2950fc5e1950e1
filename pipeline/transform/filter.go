package transform

import (
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
)

// FilterSpec is a filter as configured: the fields of a transforms filter
// entry, or of a sink's filter (config.Filter).
type FilterSpec struct {
	Tables        []string // table patterns; empty = every table
	ExcludeTables []string // table patterns
	Ops           []string // insert, update, delete, truncate, read; empty = all
	Where         []string // row filters, ANDed
}

// Filter keeps the events whose table matches Tables (any, or all when
// there are none) and no ExcludeTables pattern, whose op is in Ops (any
// when there are none), and whose row satisfies every Where condition.
//
// Where tests the new row (After) of inserts, updates and snapshot reads,
// and the old row (Before, or Key when the server sent no old row) of
// deletes. An update is therefore kept when the row matches after the
// change: an update that moves a row out of the filtered set is dropped,
// and one that moves it in is kept. Testing the new row only is what makes
// a row filter safe as an access scope (tenant_id=eq.5 never lets a row of
// another tenant through). A delete's old row holds only the key columns
// unless the table has REPLICA IDENTITY FULL; a condition on a column it
// lacks does not match. Where does not apply to truncate events, which have
// no row: they are kept when their table and op match.
//
// A Filter is immutable and safe for concurrent use. A nil *Filter keeps
// every event.
type Filter struct {
	tables  []TablePattern
	exclude []TablePattern
	ops     opSet
	where   []Cond
	names   fieldNames
}

var _ pipeline.Transform = (*Filter)(nil)

// fieldNames names the fields of a spec in errors: the YAML keys, or the
// subscription parameters.
type fieldNames struct {
	tables, exclude, ops, where, cols string
	indexed                           bool // errors say where[1], not where
}

var (
	filterFields  = fieldNames{tables: "tables", exclude: "exclude_tables", ops: "ops", where: "where", indexed: true}
	includeFields = fieldNames{tables: "tables", cols: "include", indexed: true}
	excludeFields = fieldNames{tables: "tables", cols: "exclude", indexed: true}
	selectFields  = fieldNames{tables: "table", cols: "select"}
	subFields     = fieldNames{tables: "table", ops: "op", where: "filter", cols: "select"}
)

func (n fieldNames) field(name string, i int) string {
	if !n.indexed {
		return name
	}
	return fmt.Sprintf("%s[%d]", name, i)
}

// NewFilter parses spec. Its error is an Errors listing every problem,
// each naming the field and index, as in `where[1]: filter "total=gtx.5":
// unknown operator "gtx": ...` or `ops[0]: unknown op "upsert": ...`.
func NewFilter(spec FilterSpec) (*Filter, error) {
	return newFilter(spec, filterFields)
}

func newFilter(spec FilterSpec, names fieldNames) (*Filter, error) {
	f := &Filter{names: names}
	var errs Errors
	f.tables = parsePatterns(spec.Tables, names, names.tables, &errs)
	f.exclude = parsePatterns(spec.ExcludeTables, names, names.exclude, &errs)
	for i, s := range spec.Ops {
		op, err := pipeline.ParseOp(s)
		if err != nil {
			errs = append(errs, &FieldError{Field: names.field(names.ops, i), Err: err})
			continue
		}
		f.ops |= opBit(op)
	}
	for i, s := range spec.Where {
		c, err := ParseCond(s)
		if err != nil {
			errs = append(errs, &FieldError{Field: names.field(names.where, i), Err: err})
			continue
		}
		f.where = append(f.where, c)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func parsePatterns(specs []string, names fieldNames, field string, errs *Errors) []TablePattern {
	var out []TablePattern
	for i, s := range specs {
		p, err := ParseTablePattern(s)
		if err != nil {
			*errs = append(*errs, &FieldError{Field: names.field(field, i), Err: err})
			continue
		}
		out = append(out, p)
	}
	return out
}

// Apply implements pipeline.Transform: it returns e when the filter keeps
// it and nil when it drops it. It allocates nothing unless a compared
// string value holds JSON escapes.
func (f *Filter) Apply(e *pipeline.Event) *pipeline.Event {
	if f == nil {
		return e
	}
	if !f.MatchTable(e.Schema, e.Table) || !f.MatchOp(e.Op) {
		return nil
	}
	if len(f.where) == 0 || e.Op == pipeline.OpTruncate || e.Op.Control() {
		return e
	}
	row := e.After
	if e.Op == pipeline.OpDelete {
		row = e.Before
		if row == nil {
			row = e.Key
		}
	}
	for i := range f.where {
		if !f.where[i].Match(row) {
			return nil
		}
	}
	return e
}

// MatchTable reports whether the filter's table patterns keep the table
// schema.table, whatever its ops and rows. A broadcast hub can use it to
// skip a subscriber cheaply.
func (f *Filter) MatchTable(schema, table string) bool {
	if f == nil {
		return true
	}
	if len(f.tables) > 0 && !matchAny(f.tables, schema, table) {
		return false
	}
	return !matchAny(f.exclude, schema, table)
}

// MatchOp reports whether the filter keeps events of op, whatever their
// table and rows.
func (f *Filter) MatchOp(op pipeline.Op) bool {
	return f == nil || f.ops == 0 || f.ops&opBit(op) != 0
}

func matchAny(ps []TablePattern, schema, table string) bool {
	for i := range ps {
		if ps[i].Match(schema, table) {
			return true
		}
	}
	return false
}

// opSet is a set of ops as bits; the empty set means every op.
type opSet uint8

func opBit(op pipeline.Op) opSet {
	switch op {
	case pipeline.OpInsert:
		return 1
	case pipeline.OpUpdate:
		return 2
	case pipeline.OpDelete:
		return 4
	case pipeline.OpTruncate:
		return 8
	case pipeline.OpRead:
		return 16
	case pipeline.OpSnapshotStarted:
		return 32
	case pipeline.OpSnapshotCompleted:
		return 64
	}
	return 0
}
