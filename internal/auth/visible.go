package auth

import (
	"slices"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// verdict is what a scope's forced filters make of one event.
type verdict uint8

const (
	hide      verdict = iota // the scope sees nothing of it
	keep                     // the event as it is (projected)
	asInsert                 // an update that moved a row into the scope
	asDelete                 // an update that moved a row out of the scope
	nVerdicts = 4
)

// Apply implements pipeline.Transform: it returns what the scope may see
// of e, or nil.
//
//   - A table the scope does not allow: nil.
//   - insert, read: e when the new row passes every forced filter.
//   - delete: e when the old row passes them. The old row is Before, or
//     the key when the server sent no old row; a filter on a column the
//     old row lacks fails (CheckCatalog refuses such tables at startup).
//   - update: the filters are tested on the new row and on the old row.
//     Both pass: e. Only the new row passes (the row moved into the
//     scope, tenant 8 -> 7): an insert carrying the new row only. Only
//     the old row passes (7 -> 8): a delete carrying the old row and its
//     key only. Neither: nil. So neither side ever sees the other's
//     values. The old row is Before when the server sent it (REPLICA
//     IDENTITY FULL, or the old key when the key changed), else the key
//     (the key did not change). When the old row lacks a filter's column
//     the old side is unknown and counts as failing: the scope the row
//     moved out of (if any) gets nothing and the new one gets an insert
//     (fail closed: a stale row is possible, a leak is not).
//   - truncate: e when the scope allows the table, with the truncated
//     table list narrowed to the allowed tables. A truncate removes every
//     row, the scope's too; forced filters do not apply.
//
// The result has the columns the scope's column rules deny removed from
// before, after and key, and from unchanged_toast. Synthesized events
// keep e's id (they are a view of the same change). e is never modified.
func (s *Scope) Apply(e *pipeline.Event) *pipeline.Event {
	if e.Op == pipeline.OpTruncate {
		return s.truncate(e)
	}
	if !s.AllowTable(e.Schema, e.Table) {
		return nil
	}
	return s.policy.view(e, s.verdict(e))
}

// verdict applies the scope's forced filters to e, whose table the scope
// allows.
func (s *Scope) verdict(e *pipeline.Event) verdict {
	if len(s.conds) == 0 {
		return keep
	}
	switch e.Op {
	case pipeline.OpInsert, pipeline.OpRead:
		return pick(matchNew(s.conds, e))
	case pipeline.OpDelete:
		return pick(matchAll(s.conds, oldRow(e)))
	case pipeline.OpUpdate:
		newIn, oldIn := matchNew(s.conds, e), matchAll(s.conds, oldRow(e))
		switch {
		case newIn && oldIn:
			return keep
		case newIn:
			return asInsert
		case oldIn:
			return asDelete
		}
	}
	return hide
}

func pick(in bool) verdict {
	if in {
		return keep
	}
	return hide
}

// oldRow is the row forced filters test for the old side of an update or
// a delete: Before, or the key when the server sent no old row.
func oldRow(e *pipeline.Event) pipeline.Row {
	if e.Before != nil {
		return e.Before
	}
	return e.Key
}

func matchAll(conds []transform.Cond, r pipeline.Row) bool {
	for i := range conds {
		if !conds[i].Match(r) {
			return false
		}
	}
	return true
}

// matchNew tests the new row. A column the server did not send because
// its TOASTed value did not change is taken from the old row, when that
// has it: the value is the same.
func matchNew(conds []transform.Cond, e *pipeline.Event) bool {
	for i := range conds {
		col, ok := newValue(e, conds[i].Column())
		if !ok || !conds[i].MatchColumn(col) {
			return false
		}
	}
	return true
}

// newValue returns the new value of the column name.
func newValue(e *pipeline.Event, name string) (pipeline.Column, bool) {
	if c, ok := e.After.Get(name); ok {
		return c, true
	}
	if slices.Contains(e.UnchangedToast, name) {
		return e.Before.Get(name)
	}
	return pipeline.Column{}, false
}

// view returns what a scope of the policy whose verdict on e is v sees.
// It depends only on the policy and v, so Index computes it once per event
// for all the scopes of a policy.
func (p *Policy) view(e *pipeline.Event, v verdict) *pipeline.Event {
	switch v {
	case keep:
		return p.project(e)
	case asInsert:
		out := e.Clone()
		out.Op, out.Before = pipeline.OpInsert, nil
		return p.projectClone(out)
	case asDelete:
		out := e.Clone()
		out.Op, out.After, out.UnchangedToast = pipeline.OpDelete, nil, nil
		out.Key = oldKey(e)
		return p.projectClone(out)
	}
	return nil
}

// oldKey returns the key of the old row of an update: the key columns'
// values from Before, or the key itself when the server sent no old row
// (the key did not change). A key column Before lacks is left out rather
// than taken from the new row.
func oldKey(e *pipeline.Event) pipeline.Row {
	if e.Before == nil {
		return e.Key
	}
	out := make(pipeline.Row, 0, len(e.Key))
	for _, k := range e.Key {
		if c, ok := e.Before.Get(k.Name); ok {
			out = append(out, c)
		}
	}
	return out
}

// project returns e with the columns the policy denies removed, or e
// itself when it denies none of them.
func (p *Policy) project(e *pipeline.Event) *pipeline.Event {
	rules := p.columnRules(e.Schema, e.Table)
	if len(rules) == 0 || !dropsAny(rules, e) {
		return e
	}
	return projectWith(rules, e.Clone())
}

// projectClone projects out, a clone the caller owns, in place.
func (p *Policy) projectClone(out *pipeline.Event) *pipeline.Event {
	rules := p.columnRules(out.Schema, out.Table)
	if len(rules) == 0 {
		return out
	}
	return projectWith(rules, out)
}

func projectWith(rules []*columnRule, out *pipeline.Event) *pipeline.Event {
	out.Before = projectRow(rules, out.Before)
	out.After = projectRow(rules, out.After)
	out.Key = projectRow(rules, out.Key)
	if out.UnchangedToast != nil {
		var toast []string
		for _, c := range out.UnchangedToast {
			if keepColumn(rules, c) {
				toast = append(toast, c)
			}
		}
		out.UnchangedToast = toast
	}
	return out
}

func dropsAny(rules []*columnRule, e *pipeline.Event) bool {
	for _, r := range [...]pipeline.Row{e.Before, e.After, e.Key} {
		for i := range r {
			if !keepColumn(rules, r[i].Name) {
				return true
			}
		}
	}
	for _, c := range e.UnchangedToast {
		if !keepColumn(rules, c) {
			return true
		}
	}
	return false
}

// projectRow returns r without the denied columns; nil stays nil (not
// available), a row losing every column becomes empty.
func projectRow(rules []*columnRule, r pipeline.Row) pipeline.Row {
	if r == nil {
		return nil
	}
	out := make(pipeline.Row, 0, len(r))
	for i := range r {
		if keepColumn(rules, r[i].Name) {
			out = append(out, r[i])
		}
	}
	return out
}

// truncate returns e when the scope allows its table, with the list of
// truncated tables narrowed to those the scope allows.
func (s *Scope) truncate(e *pipeline.Event) *pipeline.Event {
	if !s.AllowTable(e.Schema, e.Table) {
		return nil
	}
	n := 0
	for _, t := range e.Tables {
		if s.allowQualified(t) {
			n++
		}
	}
	if n == len(e.Tables) {
		return e
	}
	out := e.Clone()
	out.Tables = make([]string, 0, n)
	for _, t := range e.Tables {
		if s.allowQualified(t) {
			out.Tables = append(out.Tables, t)
		}
	}
	return out
}

// allowQualified checks a "schema.table" of a truncate's table list; a
// name that does not split is not allowed.
func (s *Scope) allowQualified(q string) bool {
	schema, table, ok := strings.Cut(q, ".")
	return ok && s.AllowTable(schema, table)
}
