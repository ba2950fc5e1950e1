package natsconn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
)

// DefaultSubject is the subject template of a nats sink by default.
const DefaultSubject = "pgcdc.{schema}.{table}.{op}"

// Subject is a parsed subject template.
type Subject struct {
	tokens []token
}

type token struct {
	lit   string
	field string // "schema", "table", "op"; "" for a literal
}

// ParseSubject checks a subject template: tokens separated by dots, each
// a literal without wildcards or spaces, or exactly one of {schema},
// {table}, {op}.
func ParseSubject(s string) (Subject, error) {
	if s == "" {
		return Subject{}, errors.New("empty subject template: want e.g. " + DefaultSubject)
	}
	var t Subject
	for i, tok := range strings.Split(s, ".") {
		switch {
		case tok == "":
			return Subject{}, fmt.Errorf("subject %q: token %d is empty (two dots, or a dot at an end)", s, i+1)
		case tok == "{schema}", tok == "{table}", tok == "{op}":
			t.tokens = append(t.tokens, token{field: tok[1 : len(tok)-1]})
		case strings.ContainsAny(tok, "{}"):
			return Subject{}, fmt.Errorf("subject %q: token %q: a placeholder must be a whole token, one of {schema}, {table}, {op}", s, tok)
		case strings.ContainsAny(tok, "*> \t\r\n"):
			return Subject{}, fmt.Errorf("subject %q: token %q: wildcards and spaces are not allowed", s, tok)
		default:
			t.tokens = append(t.tokens, token{lit: tok})
		}
	}
	return t, nil
}

// Format returns the subject of e.
func (t Subject) Format(e *pipeline.Event) string {
	var b strings.Builder
	for i, tok := range t.tokens {
		if i > 0 {
			b.WriteByte('.')
		}
		switch tok.field {
		case "":
			b.WriteString(tok.lit)
		case "schema":
			writeToken(&b, e.Schema)
		case "table":
			writeToken(&b, e.Table)
		case "op":
			writeToken(&b, string(e.Op))
		}
	}
	return b.String()
}

// Filter returns the subject filter that matches every subject of t, for
// the stream's subjects.
func (t Subject) Filter() string {
	parts := make([]string, len(t.tokens))
	for i, tok := range t.tokens {
		parts[i] = tok.lit
		if tok.field != "" {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, ".")
}

// writeToken writes v as one subject token: characters NATS gives a
// meaning to (dot, wildcards, white space and control characters) become
// "_", and an empty value is "_".
func writeToken(b *strings.Builder, v string) {
	if v == "" {
		b.WriteByte('_')
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c == 0x7f {
			c = '_'
		}
		b.WriteByte(c)
	}
}
