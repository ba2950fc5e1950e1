package auth

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Rules are scope rules as configured (server.auth.scope, or a named
// scope of server.auth.scopes).
type Rules struct {
	// Tables are the table patterns readable at all; empty: every table.
	Tables []string
	// Filter are forced row filters, ANDed, that may bind claims:
	// tenant_id=eq.{claims.tenant_id}.
	Filter []string
	// Columns maps a table pattern to the columns readable in the tables
	// it matches; a column is readable when every rule whose pattern
	// matches its table keeps it.
	Columns map[string]ColumnRule
	// TablesClaim names a claim holding table patterns (a list of strings,
	// or one string) that narrow Tables further for that token; a token
	// without the claim is refused.
	TablesClaim string
}

// ColumnRule keeps (Include) or drops (Exclude) columns; exactly one is
// set.
type ColumnRule struct {
	Include []string
	Exclude []string
}

// Policy is compiled Rules: what every scope bound from it may read
// before its claims are known. A Policy is immutable and safe for
// concurrent use; scopes bound from the same Policy share it, which is
// what Index groups them by.
type Policy struct {
	tables      [][]transform.TablePattern // a table must match a pattern of every group
	tableText   [][]string
	filters     []template
	columns     []columnRule
	tablesClaim []string
	// ruleCache memoizes columnRules per table: tableName -> []*columnRule.
	ruleCache sync.Map
}

type tableName struct{ schema, table string }

type columnRule struct {
	table   transform.TablePattern
	text    string
	include bool
	cols    []string
}

// Compile compiles rules into one Policy that allows what every one of
// them allows: tables matching a pattern of each, rows passing the
// filters of all, columns every rule keeps. No rules (or empty ones)
// allow everything. The error is a transform.Errors naming each problem's
// field (tables[0], filter[1], columns["public.users"].exclude[0]),
// relative to the rules it was found in.
func Compile(rules ...Rules) (*Policy, error) {
	p := &Policy{}
	var errs transform.Errors
	add := func(field string, err error) {
		errs = append(errs, &transform.FieldError{Field: field, Err: err})
	}
	for _, r := range rules {
		if len(r.Tables) > 0 {
			group := make([]transform.TablePattern, 0, len(r.Tables))
			for i, s := range r.Tables {
				tp, err := transform.ParseTablePattern(s)
				if err != nil {
					add(fmt.Sprintf("tables[%d]", i), err)
					continue
				}
				group = append(group, tp)
			}
			p.tables = append(p.tables, group)
			p.tableText = append(p.tableText, slices.Clone(r.Tables))
		}
		for i, s := range r.Filter {
			t, err := parseTemplate(s)
			if err != nil {
				add(fmt.Sprintf("filter[%d]", i), err)
				continue
			}
			p.filters = append(p.filters, t)
		}
		keys := make([]string, 0, len(r.Columns))
		for k := range r.Columns {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			cr, err := compileColumnRule(k, r.Columns[k])
			if err != nil {
				add("columns["+strconv.Quote(k)+"]"+err.field, err.err)
				continue
			}
			p.columns = append(p.columns, cr)
		}
		if r.TablesClaim != "" {
			p.tablesClaim = append(p.tablesClaim, r.TablesClaim)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

type fieldErr struct {
	field string
	err   error
}

func compileColumnRule(pattern string, r ColumnRule) (columnRule, *fieldErr) {
	tp, err := transform.ParseTablePattern(pattern)
	if err != nil {
		return columnRule{}, &fieldErr{"", err}
	}
	cr := columnRule{table: tp, text: pattern, include: len(r.Include) > 0, cols: r.Include}
	field := "include"
	switch {
	case len(r.Include) > 0 && len(r.Exclude) > 0:
		return columnRule{}, &fieldErr{"", errors.New("both include and exclude: want exactly one")}
	case len(r.Include) == 0 && len(r.Exclude) == 0:
		return columnRule{}, &fieldErr{"", errors.New("neither include nor exclude: want exactly one, e.g. {exclude: [password_hash]}")}
	case len(r.Exclude) > 0:
		cr.cols, field = r.Exclude, "exclude"
	}
	for i, c := range cr.cols {
		if c == "" {
			return columnRule{}, &fieldErr{fmt.Sprintf(".%s[%d]", field, i), errors.New("empty column name")}
		}
	}
	cr.cols = slices.Clone(cr.cols)
	return cr, nil
}

// HasClaims reports whether scopes bound from the policy depend on a
// token's claims (a placeholder in a filter, or a tables claim). Static
// tokens have no claims, so a policy for them must not.
func (p *Policy) HasClaims() bool {
	if len(p.tablesClaim) > 0 {
		return true
	}
	for i := range p.filters {
		if p.filters[i].claims {
			return true
		}
	}
	return false
}

// allowTable reports whether the policy's table rules (not a token's
// tables claim) allow schema.table.
func (p *Policy) allowTable(schema, table string) bool {
	return matchGroups(p.tables, schema, table)
}

func matchGroups(groups [][]transform.TablePattern, schema, table string) bool {
	for _, g := range groups {
		ok := false
		for i := range g {
			if g[i].Match(schema, table) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// columnRules returns the column rules that apply to schema.table.
func (p *Policy) columnRules(schema, table string) []*columnRule {
	if len(p.columns) == 0 {
		return nil
	}
	if v, ok := p.ruleCache.Load(tableName{schema, table}); ok {
		return v.([]*columnRule)
	}
	var out []*columnRule
	for i := range p.columns {
		if p.columns[i].table.Match(schema, table) {
			out = append(out, &p.columns[i])
		}
	}
	p.ruleCache.Store(tableName{schema, table}, out)
	return out
}

func (r *columnRule) keep(name string) bool {
	return slices.Contains(r.cols, name) == r.include
}

// keepColumn reports whether every rule of rules keeps the column name.
func keepColumn(rules []*columnRule, name string) bool {
	for _, r := range rules {
		if !r.keep(name) {
			return false
		}
	}
	return true
}
