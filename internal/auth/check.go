package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// CheckCatalog checks the policy against the tables a source publishes,
// at startup and after every catalog change. For every published table
// the policy allows and every forced filter:
//
//   - the filter's column must exist, or the filter would deny every row
//     of the table;
//   - the column must be in the old rows PostgreSQL sends (the catalog's
//     Key, or any column of a REPLICA IDENTITY FULL table), because a delete is tested on its old row and an update's old
//     scope is found from it: PostgreSQL sends an old row with only the
//     key columns unless the table has REPLICA IDENTITY FULL. Otherwise the
//     error names the statement that fixes it.
//
// Every problem is reported, joined.
func (p *Policy) CheckCatalog(cat pipeline.Catalog) error {
	var errs []error
	for _, t := range cat.Tables() {
		if !p.allowTable(t.Schema, t.Table) {
			continue
		}
		for i := range p.filters {
			f := &p.filters[i]
			col, ok := findColumn(t, f.column)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("scope filter %q: table %s has no column %q, so the filter would hide every row of it: fix the filter, or leave the table out of the scope's tables", f.text, qualified(t), f.column))
			case !col.Key && !t.FullIdentity:
				errs = append(errs, fmt.Errorf("scope filter %q: column %q of %s is not in its replica identity, so deletes and updates cannot be scoped (PostgreSQL sends only the key of the old row): run ALTER TABLE %s REPLICA IDENTITY FULL", f.text, f.column, qualified(t), quoteTable(t)))
			}
		}
	}
	return errors.Join(errs...)
}

func findColumn(t pipeline.TableInfo, name string) (pipeline.ColumnInfo, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return pipeline.ColumnInfo{}, false
}

func qualified(t pipeline.TableInfo) string { return t.Schema + "." + t.Table }

// quoteTable returns schema.table as quoted SQL identifiers (a table
// named user must be quoted; quoting is always right).
func quoteTable(t pipeline.TableInfo) string {
	return quoteIdent(t.Schema) + "." + quoteIdent(t.Table)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
