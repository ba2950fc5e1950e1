package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// extensionPrefix starts top-level keys that pgcdc ignores, as in
// docker-compose: they hold anchors for the rest of the file to alias,
// e.g. "x-retry: &retry {initial: 1s, max: 1m}".
const extensionPrefix = "x-"

// position is where a key or list element was written.
type position struct{ line, col int }

// decoder fills a Config from a goccy/go-yaml AST. It is strict: an
// unknown key, a value of the wrong shape, an integer with a fraction, a
// duration without unit — each is a problem with its line, column and key
// path, and every problem in the file is reported, not just the first.
// String scalars are expanded (${VAR}) as they are decoded; keys never are.
type decoder struct {
	env func(string) (string, bool)
	raw bool // no ${} expansion (values from the environment)
	// anchors holds every anchor of the file in document order, by name.
	anchors map[string][]*ast.AnchorNode
	pos     map[string]position
	errs    errorList
	// failed holds the paths whose value could not be decoded, so that
	// validation does not report them a second time.
	failed map[string]bool
	nodes  int
	depth  int
}

// parseYAML parses data into an AST. It returns syntax problems as Errors
// with their position. The parser is third-party code fed untrusted bytes,
// so a panic in it is turned into an error instead of taking the process
// down.
func parseYAML(data []byte) (f *ast.File, err error) {
	if fe := checkSize(data); fe != nil {
		return nil, Errors{fe}
	}
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, Errors{{Msg: fmt.Sprintf("yaml: parser failed on this input: %v", r)}}
		}
	}()
	f, err = parser.ParseBytes(data, 0)
	if err == nil {
		return f, nil
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe := &FieldError{Msg: "yaml: " + firstLine(ye.GetMessage())}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			fe.Line, fe.Column = tk.Position.Line, tk.Position.Column
			if lines := strings.Split(string(data), "\n"); fe.Line <= len(lines) && strings.Contains(lines[fe.Line-1], "${") {
				fe.Msg += ` (inside {...} or [...], quote a value that uses ${VAR}: "${VAR}")`
			}
		}
		return nil, Errors{fe}
	}
	return nil, Errors{{Msg: "yaml: " + firstLine(err.Error())}}
}

// decodeFile decodes the single document of f into cfg.
func (d *decoder) decodeFile(f *ast.File, cfg *Config) {
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.fail(doc.Body, "", "want one YAML document, found a second one")
			return
		}
		body = doc.Body
	}
	if body == nil {
		return // an empty file is an empty config; Validate says what is missing
	}
	for _, n := range ast.Filter(ast.AnchorType, body) {
		a := n.(*ast.AnchorNode)
		if a.Name != nil && a.Name.GetToken() != nil {
			name := a.Name.GetToken().Value
			d.anchors[name] = append(d.anchors[name], a)
		}
	}
	d.decode(body, reflect.ValueOf(cfg).Elem(), "")
}

// decode stores node into v, whose path is path.
func (d *decoder) decode(node ast.Node, v reflect.Value, path string) {
	d.nodes++
	if d.nodes == maxNodes+1 {
		d.fail(node, path, "document too large: more than %d values (an alias loop or alias bomb?)", maxNodes)
	}
	if d.nodes > maxNodes {
		return
	}
	if d.depth >= maxDepth {
		d.fail(node, path, "nested more than %d levels deep", maxDepth)
		return
	}
	d.depth++
	defer func() { d.depth-- }()

	node, ok := d.resolve(node, path)
	if !ok {
		return
	}
	if _, isNull := node.(*ast.NullNode); isNull {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	switch {
	case v.Type() == durationType:
		d.decodeDuration(node, v, path)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(node, v, path)
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			elem.Elem().Set(v.Elem())
		}
		d.decode(node, elem.Elem(), path)
		v.Set(elem)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(node, v, path)
	case v.Kind() == reflect.Map:
		d.decodeMap(node, v, path)
	case v.Kind() == reflect.String:
		if s, ok := d.scalar(node, path, "a string"); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Bool:
		d.decodeBool(node, v, path)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		d.decodeInt(node, v, path)
	default:
		// Unreachable for the Config types; keeps new field types honest.
		d.errs.add(path, "internal: cannot decode into %s", v.Type())
	}
}

// resolve follows anchors, aliases and tags to the node holding the value.
// An alias refers to the last anchor of its name written before it.
func (d *decoder) resolve(node ast.Node, path string) (ast.Node, bool) {
	for range maxDepth {
		switch n := node.(type) {
		case *ast.AnchorNode:
			node = n.Value
		case *ast.AliasNode:
			name := ""
			if n.Value != nil && n.Value.GetToken() != nil {
				name = n.Value.GetToken().Value
			}
			var target ast.Node
			for _, a := range d.anchors[name] {
				if before(a, n) {
					target = a.Value
				}
			}
			if target == nil {
				d.fail(n, path, "alias *%s refers to no anchor defined before it", name)
				return nil, false
			}
			node = target
		case *ast.TagNode:
			node = n.Value
		default:
			if node == nil {
				return &ast.NullNode{}, true
			}
			return node, true
		}
	}
	d.fail(node, path, "too many nested anchors, aliases or tags")
	return nil, false
}

// before reports whether a starts before b in the file.
func before(a, b ast.Node) bool {
	la, ca := nodePos(a)
	lb, cb := nodePos(b)
	return la < lb || la == lb && ca < cb
}

// decodeStruct decodes a mapping into struct v, rejecting unknown keys.
// Merge keys (<<: *base) are applied first, so that explicit keys win
// wherever they are written, as YAML specifies.
func (d *decoder) decodeStruct(node ast.Node, v reflect.Value, path string) {
	pairs, ok := d.mapping(node, path)
	if !ok {
		return
	}
	for _, p := range pairs {
		if p.Key != nil && p.Key.IsMergeKey() {
			d.merge(p.Value, v, path)
		}
	}
	for _, p := range pairs {
		if p.Key == nil || p.Key.IsMergeKey() {
			continue
		}
		key, ok := d.key(p.Key, path)
		if !ok {
			continue
		}
		line, col := nodePos(p.Key)
		if path == "" && strings.HasPrefix(key, extensionPrefix) {
			continue // its anchors were collected with the others
		}
		f, ok := lookupField(v.Type(), key)
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if hint := closest(key, fieldNames(v.Type())); hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			d.errs.addAt(line, col, path, "%s", msg)
			continue
		}
		child := join(path, key)
		d.pos[child] = position{line, col}
		d.decode(p.Value, v.FieldByIndex(f.index), child)
	}
}

// merge applies the value of a merge key: one mapping or a list of them.
func (d *decoder) merge(node ast.Node, v reflect.Value, path string) {
	node, ok := d.resolve(node, path)
	if !ok {
		return
	}
	if seq, isSeq := node.(*ast.SequenceNode); isSeq {
		for _, item := range seq.Values {
			d.decode(item, v, path)
		}
		return
	}
	d.decode(node, v, path)
}

// mapping returns the key/value pairs of a mapping node.
func (d *decoder) mapping(node ast.Node, path string) ([]*ast.MappingValueNode, bool) {
	switch n := node.(type) {
	case *ast.MappingNode:
		return n.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{n}, true
	}
	d.fail(node, path, "want a mapping of keys to values, got %s", describe(node))
	return nil, false
}

// key returns the text of a mapping key; keys are never expanded.
func (d *decoder) key(k ast.MapKeyNode, path string) (string, bool) {
	node := ast.Node(k)
	if mk, ok := node.(*ast.MappingKeyNode); ok {
		node = mk.Value
	}
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
		return n.GetToken().Value, true
	}
	line, col := nodePos(k)
	d.errs.addAt(line, col, path, "a key must be a plain string, got %s", describe(node))
	return "", false
}

// decodeSlice decodes a list.
func (d *decoder) decodeSlice(node ast.Node, v reflect.Value, path string) {
	seq, ok := node.(*ast.SequenceNode)
	if !ok {
		d.fail(node, path, "want a list, got %s", describe(node))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		p := index(path, i)
		line, col := nodePos(item)
		d.pos[p] = position{line, col}
		d.decode(item, out.Index(i), p)
	}
	v.Set(out)
}

// decodeMap decodes a mapping into a map with string keys.
func (d *decoder) decodeMap(node ast.Node, v reflect.Value, path string) {
	pairs, ok := d.mapping(node, path)
	if !ok {
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, p := range pairs {
		if p.Key == nil {
			continue
		}
		if p.Key.IsMergeKey() {
			line, col := nodePos(p.Key)
			d.errs.addAt(line, col, path, "merge keys (<<) are not supported here")
			continue
		}
		key, ok := d.key(p.Key, path)
		if !ok {
			continue
		}
		child := join(path, key)
		line, col := nodePos(p.Key)
		d.pos[child] = position{line, col}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.Value, elem, child)
		out.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	}
	v.Set(out)
}

// fail records a problem with the value at path, written at node.
func (d *decoder) fail(node ast.Node, path, format string, args ...any) {
	line, col := nodePos(node)
	d.errs.addAt(line, col, path, format, args...)
	if d.failed != nil {
		d.failed[path] = true
	}
}

// nodePos returns the line and column where node starts, or 0, 0.
func nodePos(node ast.Node) (int, int) {
	if node == nil {
		return 0, 0
	}
	var tk *token.Token
	switch n := node.(type) {
	case *ast.MappingNode:
		if len(n.Values) > 0 && n.Values[0].Key != nil {
			return nodePos(n.Values[0].Key)
		}
		tk = n.Start
	case *ast.MappingValueNode:
		if n.Key != nil {
			return nodePos(n.Key)
		}
		tk = n.Start
	default:
		tk = node.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}
