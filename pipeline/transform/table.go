package transform

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DefaultSchema is the schema of a table pattern written without one.
const DefaultSchema = "public"

// TablePattern matches tables by schema and name. Build it with
// ParseTablePattern; it is immutable and safe for concurrent use.
type TablePattern struct {
	schema, table glob
}

// glob matches one name: exactly lit, or, when star is set, a name that
// consists of segs separated by any runs of characters (the pattern was
// segs joined by *).
type glob struct {
	star bool
	lit  string
	segs []string
}

// ParseTablePattern parses schema.table, where each part is a name (letters,
// digits, _ and $) in which * matches any run of characters, or a
// double-quoted literal name in which a backslash escapes the next
// character. A pattern without a dot is a table of schema public; * alone
// matches every table.
func ParseTablePattern(s string) (TablePattern, error) {
	if !utf8.ValidString(s) {
		return TablePattern{}, fmt.Errorf("table pattern %q: not valid UTF-8", s)
	}
	p, err := parseTablePattern(s)
	if err != nil {
		return TablePattern{}, fmt.Errorf("table pattern %q: %w", s, err)
	}
	return p, nil
}

func parseTablePattern(s string) (TablePattern, error) {
	if s == "" {
		return TablePattern{}, errors.New("empty: want schema.table, e.g. public.orders or public.*")
	}
	if s == "*" {
		all := glob{star: true, lit: "*", segs: []string{"", ""}}
		return TablePattern{schema: all, table: all}, nil
	}
	first, n, err := parseGlob(s, "schema")
	if err != nil {
		return TablePattern{}, err
	}
	if n == len(s) {
		// No dot: first names a table of the default schema.
		return TablePattern{schema: glob{lit: DefaultSchema}, table: first}, nil
	}
	if s[n] != '.' {
		return TablePattern{}, fmt.Errorf(`unexpected %q after the quoted schema name: want "."`, s[n])
	}
	rest := s[n+1:]
	if rest == "" {
		return TablePattern{}, errors.New(`missing table name after ".": want schema.table, e.g. public.orders or public.*`)
	}
	second, m, err := parseGlob(rest, "table")
	if err != nil {
		return TablePattern{}, err
	}
	if m != len(rest) {
		if rest[m] == '.' {
			return TablePattern{}, errors.New(`too many dots: want schema.table; double-quote a name that contains a dot, e.g. "my.schema".orders`)
		}
		return TablePattern{}, fmt.Errorf(`unexpected %q after the quoted table name: want the end`, rest[m])
	}
	return TablePattern{schema: first, table: second}, nil
}

// parseGlob reads one part from the front of s and returns it with the
// bytes consumed. what is "schema" or "table", for errors.
func parseGlob(s, what string) (glob, int, error) {
	if s[0] == '"' {
		name, n, err := unquote(s)
		if err != nil {
			return glob{}, 0, fmt.Errorf("%s name: %w", what, err)
		}
		if name == "" {
			return glob{}, 0, fmt.Errorf(`empty %s name ""`, what)
		}
		return glob{lit: name}, n, nil
	}
	n := strings.IndexByte(s, '.')
	if n < 0 {
		n = len(s)
	}
	part := s[:n]
	if part == "" {
		return glob{}, 0, fmt.Errorf("empty %s name: want schema.table, e.g. public.orders or public.*", what)
	}
	if !isIdent(strings.ReplaceAll(part, "*", "_")) {
		return glob{}, 0, fmt.Errorf(`%s name %q may hold only letters, digits, _, $ and the wildcard *: double-quote other names, e.g. "%s"`, what, part, escapeQuoted(part))
	}
	if !strings.Contains(part, "*") {
		return glob{lit: part}, n, nil
	}
	return glob{star: true, lit: part, segs: strings.Split(part, "*")}, n, nil
}

// Match reports whether the table schema.table matches the pattern. It
// allocates nothing.
func (p TablePattern) Match(schema, table string) bool {
	return p.schema.match(schema) && p.table.match(table)
}

// Literal reports whether the pattern names one table (has no wildcard),
// and returns it.
func (p TablePattern) Literal() (schema, table string, ok bool) {
	if p.schema.star || p.table.star {
		return "", "", false
	}
	return p.schema.lit, p.table.lit, true
}

// String returns the pattern in canonical form, schema.table, quoting
// names that need it. ParseTablePattern of the result gives back an equal
// pattern.
func (p TablePattern) String() string {
	return p.schema.String() + "." + p.table.String()
}

func (g glob) String() string {
	if g.star {
		return g.lit
	}
	return quoteName(g.lit)
}

func (g glob) match(s string) bool {
	if !g.star {
		return s == g.lit
	}
	segs := g.segs
	head, tail := segs[0], segs[len(segs)-1]
	if len(s) < len(head)+len(tail) || !strings.HasPrefix(s, head) || !strings.HasSuffix(s, tail) {
		return false
	}
	s = s[len(head) : len(s)-len(tail)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// WholeSchema reports whether the pattern matches every table of one
// schema (schema.* with a schema name without wildcards), and returns the
// schema.
func (p TablePattern) WholeSchema() (schema string, ok bool) {
	if p.schema.star || !p.table.star || p.table.lit != "*" {
		return "", false
	}
	return p.schema.lit, true
}

// All reports whether the pattern matches every table of every schema
// (* or *.*).
func (p TablePattern) All() bool {
	return p.schema.star && p.schema.lit == "*" && p.table.star && p.table.lit == "*"
}
