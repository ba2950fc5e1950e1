package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// scalar returns the text of a scalar node, expanding ${VAR} in strings.
// Numbers and booleans are returned as written, so that `slot: 123` is the
// string "123". want names the expected type for the error message.
func (d *decoder) scalar(node ast.Node, path, want string) (string, bool) {
	var s string
	switch n := node.(type) {
	case *ast.StringNode:
		s = n.Value
	case *ast.LiteralNode:
		if n.Value != nil {
			s = n.Value.Value
		}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	default:
		d.fail(node, path, "want %s, got %s", want, describe(node))
		return "", false
	}
	if d.raw {
		return s, true
	}
	out, err := expand(s, d.env)
	if err != nil {
		d.fail(node, path, "%v", err)
		return "", false
	}
	return out, true
}

// decodeBool decodes true or false.
func (d *decoder) decodeBool(node ast.Node, v reflect.Value, path string) {
	s, ok := d.scalar(node, path, "true or false")
	switch l := strings.ToLower(s); {
	case !ok:
	case l == "true" || l == "false":
		v.SetBool(l == "true")
	default:
		d.fail(node, path, "want true or false, got %s", quoteValue(s))
	}
}

// decodeInt decodes a whole number, refusing fractions and overflow. An
// integer node is taken as goccy/go-yaml read it (0x1f, 0o17, 1_000).
func (d *decoder) decodeInt(node ast.Node, v reflect.Value, path string) {
	s, ok := d.scalar(node, path, "a whole number")
	if in, isInt := node.(*ast.IntegerNode); isInt {
		s = fmt.Sprint(in.Value)
	}
	if !ok {
		return
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		d.fail(node, path, "want a whole number, got %s", quoteValue(s))
	case err != nil || v.OverflowInt(n):
		d.fail(node, path, "number out of range for %s", v.Type())
	default:
		v.SetInt(n)
	}
}

// decodeDuration decodes a Go duration string such as "200ms" or "1h30m".
// A bare 0 is accepted; any other bare number is refused, because its unit
// would be a guess.
func (d *decoder) decodeDuration(node ast.Node, v reflect.Value, path string) {
	if in, ok := node.(*ast.IntegerNode); ok {
		if fmt.Sprint(in.Value) != "0" {
			d.fail(node, path, "invalid duration %s: a number needs a unit, e.g. \"10s\", \"200ms\" or \"1h\"", in.GetToken().Value)
			return
		}
		v.SetInt(0)
		return
	}
	s, ok := d.scalar(node, path, `a duration such as "10s"`)
	if !ok {
		return
	}
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		d.fail(node, path, "invalid duration %s: want a number with a unit (ns, us, ms, s, m, h), e.g. \"10s\", \"200ms\" or \"1h30m\"", quoteValue(s))
		return
	}
	v.SetInt(int64(dur))
}

// describe names the kind of a YAML node for messages.
func describe(node ast.Node) string {
	switch node.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "a number"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a decimal number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.NullNode:
		return "nothing (null)"
	}
	return "an unsupported YAML node"
}

// quoteValue quotes a short non-secret value for a message, cutting long
// ones.
func quoteValue(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// firstLine returns the first line of s, trimmed.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
