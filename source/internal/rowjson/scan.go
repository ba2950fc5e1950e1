package rowjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// errSyntax reports JSON that is not valid.
var errSyntax = errors.New("invalid JSON")

// scanValue returns the end of the JSON value that starts at b[i] (after
// any whitespace), so that b[start:end] is the value's exact text. It
// checks the syntax as strictly as encoding/json (FuzzScan holds it to
// that); it does not check that strings are valid UTF-8.
func scanValue(b []byte, i int) (start, end int, err error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, i, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	start = i
	switch c := b[i]; {
	case c == '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return start, i + 1, nil
		}
		for {
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return start, i, fmt.Errorf("%w: want a key at offset %d", errSyntax, i)
			}
			if i, err = scanString(b, i); err != nil {
				return start, i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return start, i, fmt.Errorf("%w: want ':' at offset %d", errSyntax, i)
			}
			if _, i, err = scanValue(b, i+1); err != nil {
				return start, i, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				return start, i + 1, nil
			}
			return start, i, fmt.Errorf("%w: want ',' or '}' at offset %d", errSyntax, i)
		}
	case c == '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return start, i + 1, nil
		}
		for {
			if _, i, err = scanValue(b, i); err != nil {
				return start, i, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				return start, i + 1, nil
			}
			return start, i, fmt.Errorf("%w: want ',' or ']' at offset %d", errSyntax, i)
		}
	case c == '"':
		end, err = scanString(b, i)
		return start, end, err
	case c == 't':
		return start, i + 4, literal(b, i, "true")
	case c == 'f':
		return start, i + 5, literal(b, i, "false")
	case c == 'n':
		return start, i + 4, literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		end = scanNumber(b, i)
		if end == i {
			return start, i, fmt.Errorf("%w: bad number at offset %d", errSyntax, i)
		}
		return start, end, nil
	default:
		return start, i, fmt.Errorf("%w: unexpected %q at offset %d", errSyntax, c, i)
	}
}

func literal(b []byte, i int, lit string) error {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return fmt.Errorf("%w: bad literal at offset %d", errSyntax, i)
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the end of the string starting at b[i] == '"'.
func scanString(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			i++
			if i >= len(b) {
				break
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return i, fmt.Errorf("%w: bad \\u escape at offset %d", errSyntax, i)
				}
				i += 4
			default:
				return i, fmt.Errorf("%w: bad escape at offset %d", errSyntax, i)
			}
		case c < 0x20:
			return i, fmt.Errorf("%w: control character in string at offset %d", errSyntax, i)
		}
	}
	return i, fmt.Errorf("%w: unterminated string", errSyntax)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber returns the end of the JSON number at b[i], or i if there is
// none.
func scanNumber(b []byte, i int) int {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return start
	}
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == i+1 {
			return start
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if k == j {
			return start
		}
		i = k
	}
	return i
}

// eachMember calls fn with the raw key (quotes included) and the raw value
// of every member of the JSON object obj, in order.
func eachMember(obj []byte, fn func(key, val []byte) error) error {
	start, end, err := scanValue(obj, 0)
	if err != nil {
		return err
	}
	if obj[start] != '{' {
		return fmt.Errorf("want a JSON object, got %s", kindOf(obj[start]))
	}
	if skipSpace(obj, end) != len(obj) {
		return fmt.Errorf("%w: data after the object", errSyntax)
	}
	// The object is valid: walk it without further checks.
	i := skipSpace(obj, start+1)
	if obj[i] == '}' {
		return nil
	}
	for {
		i = skipSpace(obj, i)
		ks := i
		ke, _ := scanString(obj, i)
		i = skipSpace(obj, ke) + 1 // ':'
		vs, ve, _ := scanValue(obj, i)
		if err := fn(obj[ks:ke], obj[vs:ve]); err != nil {
			return err
		}
		i = skipSpace(obj, ve)
		if obj[i] == '}' {
			return nil
		}
		i++ // ','
	}
}

// eachElement calls fn with every element of the JSON array arr, which must
// be valid (a value scanValue accepted).
func eachElement(arr []byte, fn func(val []byte) error) error {
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		vs, ve, err := scanValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[vs:ve]); err != nil {
			return err
		}
		i = skipSpace(arr, ve)
		if i >= len(arr) || arr[i] == ']' {
			return nil
		}
		i++ // ','
	}
	return nil
}

// unquote returns the content of the JSON string s (quotes included). A
// string without escapes is returned as a subslice of s; one with escapes
// or with bytes that are not UTF-8 is decoded by encoding/json (which
// turns those bytes into U+FFFD), so that both read alike.
func unquote(s []byte) ([]byte, error) {
	inner := s[1 : len(s)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, nil
	}
	var out string
	if err := json.Unmarshal(s, &out); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
