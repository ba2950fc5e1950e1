package auth

import (
	"strconv"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Scope is what one authenticated client may read: its Policy with the
// claims of its token bound in. It is applied to every event before the
// client's own subscription (Apply), so a client filter can only narrow
// it. A Scope is immutable and safe for concurrent use.
type Scope struct {
	policy *Policy
	// claimTables narrow the policy's tables, one group per tables claim.
	claimTables [][]transform.TablePattern
	claimText   [][]string
	// conds are the policy's forced filters with the claims bound, in
	// order.
	conds []transform.Cond
	// class identifies what the scope sees within its policy: two scopes
	// of one policy with the same class see exactly the same events.
	class string
}

var _ pipeline.Transform = (*Scope)(nil)

// Unrestricted is the scope of mode none: every table, row and column.
var Unrestricted = &Scope{policy: &Policy{}}

// Bind returns the scope of a token with the given claims. A claim the
// policy needs that is missing, null, empty or of the wrong type is an
// Error with ReasonClaims: the token is refused, never given a wider
// scope. claims may be nil for a policy without claims (HasClaims false).
func (p *Policy) Bind(claims Claims) (*Scope, error) {
	s := &Scope{policy: p}
	var class strings.Builder
	for _, name := range p.tablesClaim {
		patterns, texts, err := claimTables(claims, name)
		if err != nil {
			return nil, err
		}
		s.claimTables = append(s.claimTables, patterns)
		s.claimText = append(s.claimText, texts)
		writeClass(&class, 'T', texts...)
	}
	s.conds = make([]transform.Cond, len(p.filters))
	for i := range p.filters {
		c, err := p.filters[i].bind(claims)
		if err != nil {
			return nil, err
		}
		s.conds[i] = c
		if p.filters[i].claims {
			writeClass(&class, 'F', c.Values()...)
		}
	}
	s.class = class.String()
	return s, nil
}

// writeClass appends a length-prefixed, unambiguous encoding of vals.
func writeClass(b *strings.Builder, tag byte, vals ...string) {
	b.WriteByte(tag)
	b.WriteString(strconv.Itoa(len(vals)))
	for _, v := range vals {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
}

// claimTables reads a tables claim: a list of table patterns, or one.
func claimTables(claims Claims, name string) ([]transform.TablePattern, []string, error) {
	v, ok := claims.lookup(name)
	if !ok || v == nil {
		return nil, nil, newError(ReasonClaims, "the token lacks the claim "+strconv.Quote(name)+" that lists the tables it may read")
	}
	var texts []string
	switch v := v.(type) {
	case string:
		texts = []string{v}
	case []any:
		for _, it := range v {
			s, isString := it.(string)
			if !isString {
				return nil, nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" must be a list of table patterns (strings)")
			}
			texts = append(texts, s)
		}
	default:
		return nil, nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" must be a list of table patterns (strings)")
	}
	if len(texts) == 0 {
		return nil, nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" lists no table")
	}
	patterns := make([]transform.TablePattern, len(texts))
	for i, t := range texts {
		tp, err := transform.ParseTablePattern(t)
		if err != nil {
			return nil, nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" holds a table pattern that does not parse: want schema.table globs")
		}
		patterns[i] = tp
	}
	return patterns, texts, nil
}

// Policy returns the policy the scope was bound from.
func (s *Scope) Policy() *Policy { return s.policy }

// AllowTable reports whether the scope may read schema.table at all.
func (s *Scope) AllowTable(schema, table string) bool {
	return s.policy.allowTable(schema, table) && matchGroups(s.claimTables, schema, table)
}

// CheckTables checks a client's table patterns (a subscription's table
// parameter) against the scope before the subscription starts: a literal
// table the scope does not allow, or a pattern that matches no published
// table the scope allows, is an Error with ReasonForbidden naming it. A
// pattern that matches some allowed tables is accepted and silently
// narrowed to them when events are delivered. cat may be nil: patterns
// with a wildcard are then accepted. Patterns that do not parse are left
// to the subscription parser.
func (s *Scope) CheckTables(patterns []string, cat pipeline.Catalog) error {
	for _, text := range patterns {
		tp, err := transform.ParseTablePattern(text)
		if err != nil {
			continue
		}
		if schema, table, ok := tp.Literal(); ok {
			if !s.AllowTable(schema, table) {
				return newError(ReasonForbidden, "table "+strconv.Quote(schema+"."+table)+" is outside this token's scope")
			}
			continue
		}
		if cat == nil {
			continue
		}
		found := false
		for _, t := range cat.Tables() {
			if tp.Match(t.Schema, t.Table) && s.AllowTable(t.Schema, t.Table) {
				found = true
				break
			}
		}
		if !found {
			return newError(ReasonForbidden, "no table matching "+strconv.Quote(text)+" is in this token's scope")
		}
	}
	return nil
}

// Same reports whether s and o see exactly the same events: the same
// policy with the same bound claims. A WebSocket that re-authenticates
// keeps its subscriptions only when the new token's scope is the Same.
func (s *Scope) Same(o *Scope) bool {
	return s == o || s != nil && o != nil && s.policy == o.policy && s.class == o.class
}
