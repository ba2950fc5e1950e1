package nats

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Config is the complete settings of one nats sink, built by
// internal/wiring from the validated config (tests fill one in). Zero
// values are not replaced by defaults, except where a field says so.
type Config struct {
	Name string
	Conn natsconn.Options
	// Subject is the subject template: literal tokens and whole-token
	// placeholders {schema}, {table} and {op}, e.g.
	// "pgcdc.{schema}.{table}.{op}".
	Subject string
	Stream  Stream
	// MaxInflight bounds the publishes awaiting their PubAck (0: 4096).
	MaxInflight int
	// AckTimeout bounds the wait for one PubAck before the writer reads
	// the stream's tail again (0: 10s).
	AckTimeout time.Duration
	// RetryInitial and RetryMax bound the backoff while NATS is
	// unreachable (0: 100ms and 5s).
	RetryInitial, RetryMax time.Duration
}

// Stream names the stream and, with Create, how to create it when it is
// missing. An existing stream is used as it is.
type Stream struct {
	Name     string
	Create   bool
	Replicas int           // 0: 1
	MaxAge   time.Duration // 0: unlimited
	MaxBytes int64         // 0: unlimited
	// Duplicates is JetStream's duplicate window (0: the server's, 2m).
	Duplicates time.Duration
}

// DefaultSubject is the subject template the config uses by default.
const DefaultSubject = "pgcdc.{schema}.{table}.{op}"

// template is a parsed subject template.
type template struct {
	tokens []token
}

type token struct {
	lit   string
	field string // "schema", "table", "op"; "" for a literal
}

// ParseSubject checks a subject template: tokens separated by dots, each
// a literal without wildcards or spaces, or exactly one of {schema},
// {table}, {op}.
func ParseSubject(s string) error {
	_, err := parseSubject(s)
	return err
}

func parseSubject(s string) (template, error) {
	if s == "" {
		return template{}, errors.New("empty subject template: want e.g. " + DefaultSubject)
	}
	var t template
	for i, tok := range strings.Split(s, ".") {
		switch {
		case tok == "":
			return template{}, fmt.Errorf("subject %q: token %d is empty (two dots, or a dot at an end)", s, i+1)
		case tok == "{schema}", tok == "{table}", tok == "{op}":
			t.tokens = append(t.tokens, token{field: tok[1 : len(tok)-1]})
		case strings.ContainsAny(tok, "{}"):
			return template{}, fmt.Errorf("subject %q: token %q: a placeholder must be a whole token, one of {schema}, {table}, {op}", s, tok)
		case strings.ContainsAny(tok, "*> \t\r\n"):
			return template{}, fmt.Errorf("subject %q: token %q: wildcards and spaces are not allowed", s, tok)
		default:
			t.tokens = append(t.tokens, token{lit: tok})
		}
	}
	return t, nil
}

// subject returns the subject of e.
func (t template) subject(e *pipeline.Event) string {
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

// filter returns the subject filter that matches every subject of t, for
// the stream's subjects.
func (t template) filter() string {
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
