package config

import (
	"fmt"
	"strings"
)

// FieldError is one configuration problem: the key path it concerns
// ("sinks[1].retry.max") and what is wrong with it, with a hint where one
// helps. File, Line and Column say where the key was written, when known.
type FieldError struct {
	Path string // key path, e.g. "sinks[1].retry.max"; empty for the whole file
	Msg  string // what is wrong, lowercase, never holding a secret

	File   string // file name as given to Load or Parse; empty when unknown
	Line   int    // 1-based line of the key, 0 when unknown
	Column int    // 1-based column of the key, 0 when unknown
}

// Error formats the problem as "file:line:col: path: msg", leaving out the
// parts that are not known.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		if e.File != "" {
			b.WriteString(e.File)
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%d:", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, "%d:", e.Column)
		}
		b.WriteByte(' ')
	} else if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a configuration, in the order found. It
// is the error type returned by Load, Parse, ApplyEnv and Validate.
type Errors []*FieldError

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual problems, for errors.As and errors.Is.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// errorList collects problems while walking a configuration.
type errorList struct {
	errs Errors
}

// add records a problem at path; the message is built with fmt.Sprintf.
func (l *errorList) add(path, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// addAt records a problem whose position in the file is known.
func (l *errorList) addAt(line, col int, path, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Line: line, Column: col})
}

// err returns the collected problems, or nil when there are none.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	return l.errs
}

// join returns the path of child key under parent.
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// index returns the path of element i of the list at parent.
func index(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}
