package transform

import (
	"errors"
	"net/url"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// SubscriptionSpec is what an SSE or WebSocket client asks for, in the
// names of ARCHITECTURE §5: the query parameters table, op, filter and
// select, or the same fields of a WebSocket subscribe message.
type SubscriptionSpec struct {
	Table  []string `json:"table,omitempty"`  // table patterns; empty = every table
	Op     []string `json:"op,omitempty"`     // ops, each entry may be comma-separated
	Filter []string `json:"filter,omitempty"` // row filters, ANDed
	Select []string `json:"select,omitempty"` // columns, each entry may be comma-separated
}

// QuerySpec returns the subscription parameters of a query string. It
// ignores every other parameter.
func QuerySpec(q url.Values) SubscriptionSpec {
	return SubscriptionSpec{Table: q["table"], Op: q["op"], Filter: q["filter"], Select: q["select"]}
}

// Subscription is a client's filter followed by its projection. It is
// immutable and safe for concurrent use.
type Subscription struct {
	filter  *Filter
	project *Project // nil: every column
}

var _ pipeline.Transform = (*Subscription)(nil)

// NewSubscription parses spec. Its error is an Errors whose fields are the
// parameter names, as in `op: unknown op "upsert": ...` or `filter: filter
// "total=gtx.5": unknown operator "gtx": ...`, fit for an HTTP 400 body or
// a WebSocket error message.
func NewSubscription(spec SubscriptionSpec) (*Subscription, error) {
	var errs Errors
	var ops []string
	for _, s := range spec.Op {
		for _, op := range strings.Split(s, ",") {
			if op = strings.TrimSpace(op); op == "" {
				errs = append(errs, &FieldError{Field: "op", Err: errors.New("empty op: want a comma-separated list, e.g. op=insert,update")})
				continue
			}
			ops = append(ops, op)
		}
	}
	f, err := newFilter(FilterSpec{Tables: spec.Table, Ops: ops, Where: spec.Filter}, subFields)
	errs = appendErrors(errs, err)
	var p *Project
	if len(spec.Select) > 0 {
		p, err = Select(spec.Select)
		errs = appendErrors(errs, err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &Subscription{filter: f, project: p}, nil
}

func appendErrors(errs Errors, err error) Errors {
	if err == nil {
		return errs
	}
	var es Errors
	if errors.As(err, &es) {
		return append(errs, es...)
	}
	return append(errs, &FieldError{Field: "subscription", Err: err})
}

// Apply implements pipeline.Transform: the filter, then the projection, so
// that a filter may test a column the projection drops.
func (s *Subscription) Apply(e *pipeline.Event) *pipeline.Event {
	if e = s.filter.Apply(e); e == nil {
		return nil
	}
	return s.project.Apply(e)
}

// Filter returns the subscription's filter.
func (s *Subscription) Filter() *Filter { return s.filter }

// Project returns the subscription's projection, nil when it selects every
// column.
func (s *Subscription) Project() *Project { return s.project }

// Check validates the subscription against cat like Filter.Check, and
// reports a selected column that none of the subscribed tables has.
func (s *Subscription) Check(cat pipeline.Catalog) error {
	var errs Errors
	errs = appendErrors(errs, s.filter.Check(cat))
	if s.project != nil {
		s.project.checkColumns(&errs, matchedTables(cat.Tables(), s.filter.MatchTable))
	}
	return errs.err()
}
