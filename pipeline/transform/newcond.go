package transform

import (
	"errors"
	"fmt"
)

// NewCond returns the condition column=[not.]op.values built from its
// parts, without parsing filter text. Each value is one literal whatever
// characters it holds, so a value that comes from outside the config (a
// token's claim) can never change the condition's shape: "7,8" stays one
// value of eq and never becomes an in list, `x) or (1` stays a string.
// values must hold exactly one value for eq, neq, lt, lte, gt, gte and
// like, at least one for in, and none for is.null, is.true and is.false.
// String of the result parses (ParseCond) back to an equal Cond.
func NewCond(column string, op Operator, not bool, values ...string) (Cond, error) {
	if column == "" {
		return Cond{}, errors.New("condition: empty column name")
	}
	c := Cond{column: column, op: op, not: not}
	switch op {
	case OpIsNull, OpIsTrue, OpIsFalse:
		if len(values) != 0 {
			return Cond{}, fmt.Errorf("condition on %q: %s takes no value, got %d", column, op, len(values))
		}
		return c, nil
	case OpIn:
		if len(values) == 0 {
			return Cond{}, fmt.Errorf("condition on %q: in needs at least one value", column)
		}
	case OpEq, OpNeq, OpLt, OpLte, OpGt, OpGte, OpLike:
		if len(values) != 1 {
			return Cond{}, fmt.Errorf("condition on %q: %s takes one value, got %d", column, op, len(values))
		}
	default:
		return Cond{}, fmt.Errorf("condition on %q: invalid operator %d", column, op)
	}
	c.values = make([]literal, len(values))
	for i, v := range values {
		c.values[i] = newLiteral(v)
	}
	if op == OpLike {
		toks, err := compileLike(values[0])
		if err != nil {
			return Cond{}, fmt.Errorf("condition on %q: %w", column, err)
		}
		c.like = toks
		c.values[0] = literal{text: values[0]}
	}
	return c, nil
}
