package transform

import (
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// maxListed is the most table or column names an error lists.
const maxListed = 20

// Check validates the filter against the tables cat publishes, for a
// subscription that must not silently match nothing. It reports, as an
// Errors:
//   - a Tables pattern that matches no published table (ErrNotPublished;
//     ExcludeTables patterns are not checked);
//   - a Where column missing from any published table the filter keeps
//     (ErrUnknownColumn): events of that table would never match;
//   - a Where value or operator that cannot apply to the column's type
//     (ErrTypeMismatch): gt.abc on a number, eq.yes on a boolean, is.true
//     on a non-boolean, like on a number or boolean.
//
// Every problem wraps one of those sentinels, so a caller may choose which
// to return. A nil *Filter has no problems.
func (f *Filter) Check(cat pipeline.Catalog) error {
	if f == nil {
		return nil
	}
	published := cat.Tables()
	var errs Errors
	checkPatterns(&errs, f.names, f.names.tables, f.tables, published)
	matched := matchedTables(published, f.MatchTable)
	for i, c := range f.where {
		field := f.names.field(f.names.where, i)
		var missing []pipeline.TableInfo
		var mismatch error
		for _, t := range matched {
			col, ok := findColumn(t, c.column)
			if !ok {
				missing = append(missing, t)
				continue
			}
			if mismatch == nil {
				mismatch = c.checkKind(t, col)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, &FieldError{Field: field, Err: unknownColumn(c.column, missing)})
		}
		if mismatch != nil {
			errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("filter %q: %w", c.String(), mismatch)})
		}
	}
	return errs.err()
}

// Check validates the projection against the tables cat publishes: it
// reports a Tables pattern that matches no published table
// (ErrNotPublished) and a column that none of the matched tables has
// (ErrUnknownColumn). A column that only some matched tables have is fine:
// the others simply lack it. A nil *Project has no problems.
func (p *Project) Check(cat pipeline.Catalog) error {
	if p == nil {
		return nil
	}
	published := cat.Tables()
	var errs Errors
	checkPatterns(&errs, p.names, p.names.tables, p.tables, published)
	p.checkColumns(&errs, matchedTables(published, p.MatchTable))
	return errs.err()
}

// checkColumns reports every projected column that no table of matched
// has. It reports nothing when matched is empty.
func (p *Project) checkColumns(errs *Errors, matched []pipeline.TableInfo) {
	if len(matched) == 0 {
		return
	}
	for i, name := range p.cols {
		found := false
		for _, t := range matched {
			if _, ok := findColumn(t, name); ok {
				found = true
				break
			}
		}
		if !found {
			*errs = append(*errs, &FieldError{Field: p.names.field(p.names.cols, i), Err: unknownColumn(name, matched)})
		}
	}
}

// checkKind reports whether the condition can apply to col of table t.
func (c Cond) checkKind(t pipeline.TableInfo, col pipeline.ColumnInfo) error {
	what := fmt.Sprintf("column %q of %s is %s", col.Name, qualified(t), kindName(col.Kind))
	switch c.op {
	case OpIsNull:
		return nil
	case OpIsTrue, OpIsFalse:
		if col.Kind != pipeline.KindBool {
			return fmt.Errorf("%w: %s needs a boolean column, but %s", ErrTypeMismatch, c.op, what)
		}
		return nil
	case OpLike:
		if col.Kind == pipeline.KindNumber || col.Kind == pipeline.KindBool {
			return fmt.Errorf("%w: like needs a text column, but %s", ErrTypeMismatch, what)
		}
		return nil
	}
	for _, v := range c.values {
		switch {
		case col.Kind == pipeline.KindNumber && !v.isNum:
			return fmt.Errorf("%w: %q is not a number, but %s", ErrTypeMismatch, v.text, what)
		case col.Kind == pipeline.KindBool && !v.isBool:
			return fmt.Errorf("%w: %q is not true or false, but %s", ErrTypeMismatch, v.text, what)
		}
	}
	return nil
}

// checkPatterns reports every pattern of ps that matches no table of
// published.
func checkPatterns(errs *Errors, names fieldNames, field string, ps []TablePattern, published []pipeline.TableInfo) {
	for i, p := range ps {
		if len(matchedTables(published, p.Match)) > 0 {
			continue
		}
		var err error
		if _, _, ok := p.Literal(); ok {
			err = fmt.Errorf("table %q is %w; published: %s", p.String(), ErrNotPublished, publishedList(published))
		} else {
			err = fmt.Errorf("tables matching %q are %w; published: %s", p.String(), ErrNotPublished, publishedList(published))
		}
		*errs = append(*errs, &FieldError{Field: names.field(field, i), Err: err})
	}
}

func matchedTables(published []pipeline.TableInfo, match func(schema, table string) bool) []pipeline.TableInfo {
	var out []pipeline.TableInfo
	for _, t := range published {
		if match(t.Schema, t.Table) {
			out = append(out, t)
		}
	}
	return out
}

func findColumn(t pipeline.TableInfo, name string) (pipeline.ColumnInfo, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return pipeline.ColumnInfo{}, false
}

// unknownColumn describes a column missing from the tables missing; when
// that is a single table it lists the table's columns.
func unknownColumn(name string, missing []pipeline.TableInfo) error {
	if len(missing) == 1 {
		cols := make([]string, len(missing[0].Columns))
		for i, c := range missing[0].Columns {
			cols[i] = c.Name
		}
		return fmt.Errorf("%w %q in %s; columns: %s", ErrUnknownColumn, name, qualified(missing[0]), list(cols))
	}
	names := make([]string, len(missing))
	for i, t := range missing {
		names[i] = qualified(t)
	}
	return fmt.Errorf("%w %q in %s", ErrUnknownColumn, name, list(names))
}

func publishedList(published []pipeline.TableInfo) string {
	if len(published) == 0 {
		return "none"
	}
	names := make([]string, len(published))
	for i, t := range published {
		names[i] = qualified(t)
	}
	return list(names)
}

// list joins names with commas, eliding past maxListed.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}

func qualified(t pipeline.TableInfo) string { return t.Schema + "." + t.Table }

func kindName(k pipeline.Kind) string {
	switch k {
	case pipeline.KindString:
		return "text"
	case pipeline.KindNumber:
		return "numeric"
	case pipeline.KindBool:
		return "boolean"
	case pipeline.KindTime:
		return "a date/time"
	case pipeline.KindJSON:
		return "JSON"
	case pipeline.KindBytes:
		return "bytea"
	}
	return fmt.Sprintf("of kind %d", k)
}
