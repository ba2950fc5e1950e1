package transform

import (
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
)

// CheckConfig validates a configured filter (a transforms entry or a
// sink's filter) against the tables cat publishes. Unlike Check, which is
// for a client's subscription, it tells apart what drops every event of
// its scope from what drops some:
//
// Errors (the filter would silently drop changes it was meant to keep):
//   - a literal Tables entry that names no published table;
//   - a Where column that no published table in the filter's scope has;
//   - a Where value that does not parse as the column's type.
//
// Warnings (the config may be right, but say so):
//   - a Tables glob that matches no published table yet;
//   - a Where column that only some tables in scope have: their events
//     never pass the filter.
//
// A nil *Filter has no problems.
func (f *Filter) CheckConfig(cat pipeline.Catalog) (warnings []string, err error) {
	if f == nil {
		return nil, nil
	}
	published := cat.Tables()
	var errs Errors
	warnings = configPatterns(&errs, f.names, f.names.tables, f.tables, published)
	matched := matchedTables(published, f.MatchTable)
	if len(matched) == 0 {
		return warnings, errs.err()
	}
	for i, c := range f.where {
		field := f.names.field(f.names.where, i)
		missing, mismatch := c.against(matched)
		switch {
		case len(missing) == len(matched):
			errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("%w: every change of these tables would be dropped", unknownColumn(c.column, missing))})
		case len(missing) > 0:
			warnings = append(warnings, fmt.Sprintf("%s: column %q is not in %s: their changes never pass this filter", field, c.column, tableList(missing)))
		}
		if mismatch != nil {
			errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf("filter %q: %w", c.String(), mismatch)})
		}
	}
	return warnings, errs.err()
}

// CheckConfig validates a configured projection against the tables cat
// publishes: a literal Tables entry that names no published table, and a
// column that none of the tables in scope has, are errors (an exclude of a
// misspelt column would let the real one through); a Tables glob that
// matches no table yet is a warning. A nil *Project has no problems.
func (p *Project) CheckConfig(cat pipeline.Catalog) (warnings []string, err error) {
	if p == nil {
		return nil, nil
	}
	published := cat.Tables()
	var errs Errors
	warnings = configPatterns(&errs, p.names, p.names.tables, p.tables, published)
	p.checkColumns(&errs, matchedTables(published, p.MatchTable))
	return warnings, errs.err()
}

// configPatterns reports a literal pattern that matches no published table
// as an error and returns a warning for each glob that matches none.
func configPatterns(errs *Errors, names fieldNames, field string, ps []TablePattern, published []pipeline.TableInfo) []string {
	var warnings []string
	for i, p := range ps {
		if len(matchedTables(published, p.Match)) > 0 {
			continue
		}
		if _, _, ok := p.Literal(); ok {
			*errs = append(*errs, &FieldError{Field: names.field(field, i),
				Err: fmt.Errorf("table %q is %w; published: %s", p.String(), ErrNotPublished, publishedList(published))})
			continue
		}
		warnings = append(warnings, fmt.Sprintf("%s: no published table matches %q yet; published: %s", names.field(field, i), p.String(), publishedList(published)))
	}
	return warnings
}

func tableList(ts []pipeline.TableInfo) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = qualified(t)
	}
	return list(names)
}
