package transform

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// operatorWords maps what may follow "=" (or "=not.") up to the first dot
// to its operator; "is" is completed by the value.
var operatorWords = map[string]Operator{
	"eq": OpEq, "neq": OpNeq, "lt": OpLt, "lte": OpLte, "gt": OpGt, "gte": OpGte,
	"in": OpIn, "is": OpIsNull, "like": OpLike,
}

const (
	wantOperators = "want one of eq, neq, lt, lte, gt, gte, in, is, like (optionally prefixed by not.)"
	wantForm      = "want column=operator.value, e.g. status=eq.paid"
)

// ParseCond parses a row filter, column=[not.]operator.value (see the
// package documentation for the grammar). Errors quote the filter, say what
// was wrong and what was expected.
func ParseCond(s string) (Cond, error) {
	c, err := parseCond(s)
	if err != nil {
		return Cond{}, fmt.Errorf("filter %q: %w", s, err)
	}
	return c, nil
}

func parseCond(s string) (Cond, error) {
	column, rest, err := parseColumn(s)
	if err != nil {
		return Cond{}, err
	}
	c := Cond{column: column}
	if after, ok := strings.CutPrefix(rest, "not."); ok {
		c.not, rest = true, after
	}
	word, value, hasDot := strings.Cut(rest, ".")
	op, known := operatorWords[word]
	switch {
	case word == "" && !hasDot:
		return Cond{}, fmt.Errorf("missing operator after %q: %s", s[:len(s)-len(rest)], wantForm)
	case !known && !hasDot:
		return Cond{}, fmt.Errorf("missing operator in %q: want operator.value, e.g. eq.%s; operators: eq, neq, lt, lte, gt, gte, in, is, like", word, word)
	case !known:
		return Cond{}, fmt.Errorf("unknown operator %q: %s", word, wantOperators)
	case !hasDot:
		if op == OpIsNull {
			return Cond{}, errors.New(`operator "is" needs a value: want is.null, is.true or is.false`)
		}
		return Cond{}, fmt.Errorf("operator %q needs a value: want %s.<value>", word, word)
	}
	c.op = op
	switch op {
	case OpIsNull:
		switch value {
		case "null":
		case "true":
			c.op = OpIsTrue
		case "false":
			c.op = OpIsFalse
		default:
			return Cond{}, fmt.Errorf("unknown value %q for is: want is.null, is.true or is.false", value)
		}
	case OpIn:
		items, err := parseInList(value)
		if err != nil {
			return Cond{}, err
		}
		c.values = make([]literal, len(items))
		for i, it := range items {
			c.values[i] = newLiteral(it)
		}
	case OpLike:
		toks, err := compileLike(value)
		if err != nil {
			return Cond{}, err
		}
		c.like = toks
		c.values = []literal{{text: value}}
	default:
		c.values = []literal{newLiteral(value)}
	}
	return c, nil
}

// parseColumn splits s into the column name and what follows its "=".
func parseColumn(s string) (name, rest string, err error) {
	if s == "" {
		return "", "", errors.New("empty filter: " + wantForm)
	}
	if s[0] == '"' {
		name, n, err := unquote(s)
		if err != nil {
			return "", "", fmt.Errorf("column name: %w", err)
		}
		if name == "" {
			return "", "", errors.New(`empty column name ""`)
		}
		if n == len(s) || s[n] != '=' {
			return "", "", fmt.Errorf(`missing "=" after column name %s: %s`, s[:n], wantForm)
		}
		return name, s[n+1:], nil
	}
	i := strings.IndexByte(s, '=')
	switch {
	case i < 0:
		return "", "", errors.New(`missing "=": ` + wantForm)
	case i == 0:
		return "", "", errors.New(`missing column name before "=": ` + wantForm)
	}
	name = s[:i]
	if !isIdent(name) {
		return "", "", fmt.Errorf(`column name %q is not an identifier (letters, digits, _ and $): double-quote it, e.g. "%s"`, name, escapeQuoted(name))
	}
	return name, s[i+1:], nil
}

// parseInList parses "(item,item,...)".
func parseInList(s string) ([]string, error) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, fmt.Errorf("in list %q is not parenthesized: want in.(a,b,...)", s)
	}
	return parseList(s[1:len(s)-1], "in list")
}

// parseList parses comma-separated items: plain (trimmed of white space,
// without , ( ) or ") or double-quoted. what names the list in errors.
func parseList(s, what string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%s is empty: want at least one item", what)
	}
	var items []string
	for i := 0; ; {
		i = skipSpace(s, i)
		var item string
		if i < len(s) && s[i] == '"' {
			v, n, err := unquote(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%s item %d: %w", what, len(items)+1, err)
			}
			item = v
			i = skipSpace(s, i+n)
		} else {
			j := i
			for j < len(s) && s[j] != ',' {
				if c := s[j]; c == '(' || c == ')' || c == '"' {
					return nil, fmt.Errorf(`%s item %d: unexpected %q: double-quote items that contain , ( ) or ", e.g. "a,b"`, what, len(items)+1, c)
				}
				j++
			}
			item = strings.TrimSpace(s[i:j])
			if item == "" {
				return nil, fmt.Errorf(`%s item %d is empty: write "" for an empty string`, what, len(items)+1)
			}
			i = j
		}
		items = append(items, item)
		if i == len(s) {
			return items, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf(`%s item %d: unexpected %q after the closing quote: want "," or the end`, what, len(items), s[i])
		}
		i++
	}
}

func skipSpace(s string, i int) int {
	return len(s) - len(strings.TrimLeftFunc(s[i:], unicode.IsSpace))
}

// unquote reads a double-quoted string from the front of s, in which a
// backslash escapes the next byte, and returns its content and the bytes
// consumed.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 == len(s) {
				return "", 0, errors.New(`unterminated quoted string: want a closing "`)
			}
			i++
		}
		b.WriteByte(s[i])
	}
	return "", 0, errors.New(`unterminated quoted string: want a closing "`)
}

// isIdent reports whether s is a non-empty run of letters, digits, _ and $.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// quoteName returns name as written in a filter: plain if it is an
// identifier, double-quoted otherwise.
func quoteName(name string) string {
	if isIdent(name) {
		return name
	}
	return `"` + escapeQuoted(name) + `"`
}

// quoteItem returns an in-list item as written in a filter.
func quoteItem(s string) string {
	if s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, `,()"`) {
		return s
	}
	return `"` + escapeQuoted(s) + `"`
}

// escapeQuoted escapes " and \ for use between double quotes.
func escapeQuoted(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
