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
		missing, mismatch := c.against(matched)
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

// against returns the tables of matched that lack the condition's column
// and the first type mismatch (checkKind) among those that have it.
func (c Cond) against(matched []pipeline.TableInfo) (missing []pipeline.TableInfo, mismatch error) {
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
	return missing, mismatch
}

// checkKind reports whether the condition can apply to col of table t: a
// value that does not parse as the column's type (a number, a boolean, a
// date or timestamp, an interval, a time of day, a uuid) would compare as
// text and silently match the wrong rows, so it is an error.
func (c Cond) checkKind(t pipeline.TableInfo, col pipeline.ColumnInfo) error {
	what := fmt.Sprintf("column %q of %s is %s", col.Name, qualified(t), typeName(col))
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
		var want string
		switch {
		case col.Kind == pipeline.KindNumber && !v.isNum:
			want = "a number"
		case col.Kind == pipeline.KindBool && !v.isBool:
			want = "true or false"
		case col.Kind == pipeline.KindTime && !v.isTime:
			want = "a date or timestamp, e.g. 2026-12-03 or 2026-12-03T09:00:00Z"
		case col.Kind == pipeline.KindInterval && !v.isSpan:
			want = "an ISO 8601 interval, e.g. P2D or PT36H"
		case col.Kind == pipeline.KindClock && !v.isClk:
			want = "a time of day, e.g. 10:00:00 or 10:00:00+02"
		case col.Type == "uuid" && !canonicalUUID(v.text):
			want = "a uuid in lower case with hyphens, as PostgreSQL writes it, e.g. a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
		default:
			continue
		}
		var hint string
		if (col.Kind == pipeline.KindTime || col.Kind == pipeline.KindClock) && strings.Contains(v.text, " ") {
			hint = ` (in a URL query a "+" means a space: write the offset's + as %2B)`
		}
		return fmt.Errorf("%w: %q is not %s, but %s%s", ErrTypeMismatch, v.text, want, what, hint)
	}
	return nil
}

// canonicalUUID reports whether s is a uuid as PostgreSQL writes one:
// 8-4-4-4-12 lower-case hexadecimal digits.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
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

// typeName names a column's type in errors: its kind, or uuid (a text
// kind whose values must be written in one form).
func typeName(col pipeline.ColumnInfo) string {
	if col.Type == "uuid" {
		return "uuid"
	}
	return kindName(col.Kind)
}

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
	case pipeline.KindInterval:
		return "an interval"
	case pipeline.KindClock:
		return "a time of day"
	}
	return fmt.Sprintf("of kind %d", k)
}
