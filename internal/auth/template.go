package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// A forced filter is a row filter of the grammar of ARCHITECTURE §7 in
// which a whole value may be a claim placeholder, {claims.NAME}:
//
//	tenant_id=eq.{claims.tenant_id}
//	region=in.(eu,{claims.region})
//
// The template is parsed once, with the placeholder as an ordinary value;
// binding replaces the placeholder by the claim's value as a typed value
// of the condition (transform.NewCond), never by splicing text, so no
// claim can change the filter's shape.
type template struct {
	text   string // as configured
	column string
	op     transform.Operator
	not    bool
	values []tvalue
	claims bool           // some value is a placeholder
	fixed  transform.Cond // the condition, when no value is a placeholder
}

// tvalue is one value of a template: a literal, or a claim placeholder.
type tvalue struct {
	lit   string
	claim string // non-empty: a placeholder for this claim
}

const (
	placeholderOpen  = "{claims."
	placeholderClose = "}"
)

// parseTemplate parses one forced filter.
func parseTemplate(s string) (template, error) {
	c, err := transform.ParseCond(s)
	if err != nil {
		return template{}, err
	}
	t := template{text: s, column: c.Column(), op: c.Operator(), not: c.Negated(), fixed: c}
	if strings.Contains(c.Column(), placeholderOpen) {
		return template{}, fmt.Errorf("filter %q: a claim placeholder may stand for a value, not a column name", s)
	}
	for _, v := range c.Values() {
		name, isClaim, err := placeholder(v)
		if err != nil {
			return template{}, fmt.Errorf("filter %q: %w", s, err)
		}
		if isClaim && t.op == transform.OpLike {
			return template{}, fmt.Errorf("filter %q: a claim cannot be a like pattern (a claim holding %% would match every row): use eq or in", s)
		}
		t.values = append(t.values, tvalue{lit: v, claim: name})
		t.claims = t.claims || isClaim
	}
	if t.claims {
		t.fixed = transform.Cond{}
	}
	return t, nil
}

// placeholder reports whether v is exactly {claims.NAME}, and refuses a
// value that holds a placeholder among other text.
func placeholder(v string) (string, bool, error) {
	i := strings.Index(v, placeholderOpen)
	if i < 0 {
		return "", false, nil
	}
	name, ok := strings.CutSuffix(v[len(placeholderOpen):], placeholderClose)
	if i != 0 || !ok || name == "" || strings.ContainsAny(name, "{}") {
		return "", false, errors.New("a claim placeholder must be a whole value, {claims.NAME}: e.g. tenant_id=eq.{claims.tenant_id}")
	}
	return name, true, nil
}

// bind returns the template's condition with its placeholders replaced by
// the claims' values. An in list takes every item of an array claim; any
// other operator takes one scalar. A missing claim is an error: the scope
// fails closed.
func (t *template) bind(claims Claims) (transform.Cond, error) {
	if !t.claims {
		return t.fixed, nil
	}
	var vals []string
	for _, v := range t.values {
		if v.claim == "" {
			vals = append(vals, v.lit)
			continue
		}
		cv, err := claims.claimValues(v.claim, t.op == transform.OpIn)
		if err != nil {
			return transform.Cond{}, err
		}
		vals = append(vals, cv...)
	}
	c, err := transform.NewCond(t.column, t.op, t.not, vals...)
	if err != nil {
		// Unreachable: the template parsed with the same operator.
		return transform.Cond{}, newError(ReasonClaims, "the token's claims do not fit the scope's filter on "+t.column)
	}
	return c, nil
}

// claimNames lists the claims the template binds.
func (t *template) claimNames() []string {
	var out []string
	for _, v := range t.values {
		if v.claim != "" {
			out = append(out, v.claim)
		}
	}
	return out
}
