package transform

import (
	"errors"

	"github.com/pgcdc/pgcdc/pipeline"
)

// ProjectSpec is a projection as configured: the fields of a transforms
// project entry, or of a sink's project (config.Project).
type ProjectSpec struct {
	Tables  []string // table patterns; empty = every table
	Include []string // the columns to keep; exactly one of Include or Exclude
	Exclude []string // the columns to drop
}

// Project keeps (Include) or drops (Exclude) columns of the before and
// after rows of events whose table matches Tables. Columns keep their row
// order. The key row is left intact: it is the identity receivers
// deduplicate and address rows by. Names of dropped columns are removed
// from UnchangedToast too. Truncate events and events of other tables pass
// unchanged.
//
// A Project is immutable and safe for concurrent use. A nil *Project keeps
// every column.
type Project struct {
	tables  []TablePattern
	cols    []string
	set     map[string]struct{} // cols, when there are many
	include bool
	names   fieldNames
}

var _ pipeline.Transform = (*Project)(nil)

// linearCols is the most columns looked up by a linear scan rather than a
// map.
const linearCols = 8

// NewProject parses spec. Its error is an Errors naming the field, as in
// `include: cannot be combined with exclude` or `exclude[2]: empty column
// name`.
func NewProject(spec ProjectSpec) (*Project, error) {
	var errs Errors
	names, cols := includeFields, spec.Include
	switch {
	case len(spec.Include) > 0 && len(spec.Exclude) > 0:
		errs = append(errs, &FieldError{Field: "include", Err: errors.New("cannot be combined with exclude: want exactly one of include or exclude")})
	case len(spec.Include) == 0 && len(spec.Exclude) == 0:
		errs = append(errs, &FieldError{Field: "include", Err: errors.New("missing: want exactly one of include or exclude")})
	case len(spec.Exclude) > 0:
		names, cols = excludeFields, spec.Exclude
	}
	tables := parsePatterns(spec.Tables, names, names.tables, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return newProject(tables, cols, len(spec.Exclude) == 0, names)
}

// Select returns the projection of a subscription's select parameter: an
// include list for every table. Each entry may hold several
// comma-separated names (select=id,status), double-quoted where a name
// contains a comma, parenthesis or double quote. Errors name the field
// "select".
func Select(cols []string) (*Project, error) {
	var names []string
	var errs Errors
	for _, s := range cols {
		items, err := parseList(s, "select")
		if err != nil {
			errs = append(errs, &FieldError{Field: "select", Err: err})
			continue
		}
		names = append(names, items...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(names) == 0 {
		return nil, Errors{{Field: "select", Err: errors.New("no columns: want a comma-separated list, e.g. select=id,status")}}
	}
	return newProject(nil, names, true, selectFields)
}

func newProject(tables []TablePattern, cols []string, include bool, names fieldNames) (*Project, error) {
	var errs Errors
	for i, c := range cols {
		if c == "" {
			errs = append(errs, &FieldError{Field: names.field(names.cols, i), Err: errors.New("empty column name")})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	p := &Project{tables: tables, cols: append([]string(nil), cols...), include: include, names: names}
	if len(cols) > linearCols {
		p.set = make(map[string]struct{}, len(cols))
		for _, c := range cols {
			p.set[c] = struct{}{}
		}
	}
	return p, nil
}

// Apply implements pipeline.Transform. For an event of a matching table it
// returns a clone whose before and after rows are new, projected rows; the
// input event and its rows are never modified. When the projection drops
// nothing it returns e itself.
func (p *Project) Apply(e *pipeline.Event) *pipeline.Event {
	if p == nil || e.Op == pipeline.OpTruncate || e.Op.Control() || !p.MatchTable(e.Schema, e.Table) {
		return e
	}
	before, b := p.row(e.Before)
	after, a := p.row(e.After)
	toast, t := p.toast(e.UnchangedToast)
	if !b && !a && !t {
		return e
	}
	out := e.Clone()
	out.Before, out.After, out.UnchangedToast = before, after, toast
	return out
}

// MatchTable reports whether the projection applies to schema.table.
func (p *Project) MatchTable(schema, table string) bool {
	return p == nil || len(p.tables) == 0 || matchAny(p.tables, schema, table)
}

// Keep reports whether the projection keeps the column name (in tables it
// applies to).
func (p *Project) Keep(name string) bool {
	if p == nil {
		return true
	}
	var listed bool
	if p.set != nil {
		_, listed = p.set[name]
	} else {
		for _, c := range p.cols {
			if c == name {
				listed = true
				break
			}
		}
	}
	return listed == p.include
}

// row projects r and reports whether it dropped anything. A row whose every
// column is dropped becomes an empty, non-nil row (JSON {}), since nil
// means "not available".
func (p *Project) row(r pipeline.Row) (pipeline.Row, bool) {
	if r == nil {
		return nil, false
	}
	n := 0
	for i := range r {
		if p.Keep(r[i].Name) {
			n++
		}
	}
	if n == len(r) {
		return r, false
	}
	out := make(pipeline.Row, 0, n)
	for i := range r {
		if p.Keep(r[i].Name) {
			out = append(out, r[i])
		}
	}
	return out, true
}

func (p *Project) toast(names []string) ([]string, bool) {
	n := 0
	for _, c := range names {
		if p.Keep(c) {
			n++
		}
	}
	if n == len(names) {
		return names, false
	}
	if n == 0 {
		return nil, true
	}
	out := make([]string, 0, n)
	for _, c := range names {
		if p.Keep(c) {
			out = append(out, c)
		}
	}
	return out, true
}
