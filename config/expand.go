package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} in s with values from env.
// "$$" stands for one "$"; a "$" followed by anything else is kept as is.
// ${VAR:-default} uses the default when VAR is unset or empty; ${VAR}
// without a default is an error when VAR is unset (an empty value is
// fine). The default is literal text: it cannot hold "}" or another ${}.
//
// Expansion happens on decoded scalar values, after YAML parsing, so an
// expanded value can never add YAML structure.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte('$')
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", errors.New(`unterminated "${" (write "$$" for a literal "$")`)
		}
		expr := s[i+2 : i+2+end]
		i += 2 + end + 1
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			// The text is not quoted back: it may be part of a secret.
			return "", errors.New(`invalid variable name after "${": want letters, digits and _, not starting with a digit (write "$$" for a literal "$")`)
		}
		if strings.Contains(def, "${") {
			return "", fmt.Errorf("${%s:-...}: a default cannot hold another ${...}", name)
		}
		v, ok := "", false
		if env != nil {
			v, ok = env(name)
		}
		switch {
		case hasDef && v == "":
			b.WriteString(def)
		case !ok && !hasDef:
			return "", fmt.Errorf("${%s} is not set", name)
		default:
			b.WriteString(v)
		}
	}
	return b.String(), nil
}

// validEnvName reports whether s is a POSIX-style environment variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// MapEnv returns an env lookup function for Load and Parse backed by m,
// for tests and for callers that gather variables themselves.
func MapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
