package transform

import (
	"errors"
	"strings"
)

// Sentinels wrapped by the errors of Check, so that a caller can tell a
// problem with the catalog apart from a syntax error with errors.Is.
var (
	// ErrNotPublished reports a table pattern that matches no published table.
	ErrNotPublished = errors.New("not published")
	// ErrUnknownColumn reports a column that the matched tables do not have.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrTypeMismatch reports a value or operator that cannot apply to the
	// column's type, such as gt.abc on a numeric column.
	ErrTypeMismatch = errors.New("type mismatch")
)

// FieldError is one problem with one entry of a spec. Field names the spec
// field and the entry's index, as in "where[1]" or "ops[0]".
type FieldError struct {
	Field string
	Err   error
}

// Error returns "field: problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *FieldError) Unwrap() error { return e.Err }

// Errors is every problem found in a spec, in field order. The constructors
// and Check methods of this package return an Errors (never an empty one)
// so that a config validator can prefix each problem with its own path.
type Errors []*FieldError

// Error returns the problems one per line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// err returns es as an error, or nil when it is empty.
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
