package transform

import (
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Operator is the comparison of a row filter.
type Operator uint8

// The operators of the filter grammar. The zero Operator is invalid.
const (
	OpEq Operator = iota + 1
	OpNeq
	OpLt
	OpLte
	OpGt
	OpGte
	OpIn
	OpIsNull
	OpIsTrue
	OpIsFalse
	OpLike
)

var operatorNames = [...]string{
	OpEq: "eq", OpNeq: "neq", OpLt: "lt", OpLte: "lte", OpGt: "gt", OpGte: "gte",
	OpIn: "in", OpIsNull: "is.null", OpIsTrue: "is.true", OpIsFalse: "is.false", OpLike: "like",
}

// String returns the operator as written in a filter: "eq", "in",
// "is.null", and so on.
func (o Operator) String() string {
	if o == 0 || int(o) >= len(operatorNames) {
		return "invalid"
	}
	return operatorNames[o]
}

// Cond is one parsed row filter, column=[not.]operator.value. Build it with
// ParseCond; the zero Cond matches nothing. A Cond is immutable and safe for
// concurrent use.
type Cond struct {
	column string
	op     Operator
	not    bool
	values []literal   // eq..gte and like: one; in: the items; is.*: none
	like   []likeToken // like only
}

// Column returns the name of the column the condition tests.
func (c Cond) Column() string { return c.column }

// Operator returns the condition's operator.
func (c Cond) Operator() Operator { return c.op }

// Negated reports whether the operator has the not. prefix.
func (c Cond) Negated() bool { return c.not }

// Values returns the condition's literal values: one for a scalar
// operator, the items of an in list, none for is.null, is.true and
// is.false.
func (c Cond) Values() []string {
	out := make([]string, len(c.values))
	for i, v := range c.values {
		out[i] = v.text
	}
	return out
}

// String returns the condition in the filter grammar. ParseCond of the
// result gives back an equal Cond.
func (c Cond) String() string {
	var b strings.Builder
	b.WriteString(quoteName(c.column))
	b.WriteByte('=')
	if c.not {
		b.WriteString("not.")
	}
	b.WriteString(c.op.String())
	switch c.op {
	case OpIsNull, OpIsTrue, OpIsFalse:
	case OpIn:
		b.WriteString(".(")
		for i, v := range c.values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteItem(v.text))
		}
		b.WriteByte(')')
	default:
		b.WriteByte('.')
		if len(c.values) > 0 {
			b.WriteString(c.values[0].text)
		}
	}
	return b.String()
}

// Match reports whether row r satisfies the condition. A column absent from
// r never matches; see the package documentation for NULL and for how
// values compare. Match allocates nothing unless a string value holds JSON
// escapes.
func (c Cond) Match(r pipeline.Row) bool {
	for i := range r {
		if r[i].Name == c.column {
			return c.MatchColumn(r[i])
		}
	}
	return false
}

// MatchColumn reports whether the column's value satisfies the condition,
// whatever the column's name.
func (c Cond) MatchColumn(col pipeline.Column) bool {
	null := col.IsNull()
	switch c.op {
	case 0:
		return false
	case OpIsNull:
		return null != c.not
	case OpIsTrue, OpIsFalse:
		if null {
			return c.not
		}
		want := "true"
		if c.op == OpIsFalse {
			want = "false"
		}
		return (textOf(col.Value) == want) != c.not
	}
	if null {
		return false
	}
	v := newOperand(col)
	var ok bool
	switch c.op {
	case OpLike:
		ok = matchLike(c.like, v.text)
	case OpIn:
		for i := range c.values {
			if v.cmp(&c.values[i]) == 0 {
				ok = true
				break
			}
		}
	default:
		ok = compareOK(c.op, v.cmp(&c.values[0]))
	}
	return ok != c.not
}

// compareOK applies a comparison operator to the result of a three-way
// comparison.
func compareOK(op Operator, cmp int) bool {
	switch op {
	case OpEq:
		return cmp == 0
	case OpNeq:
		return cmp != 0
	case OpLt:
		return cmp < 0
	case OpLte:
		return cmp <= 0
	case OpGt:
		return cmp > 0
	case OpGte:
		return cmp >= 0
	}
	return false
}
