package config

import (
	"errors"
	"fmt"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// EnvPrefix starts the name of every environment override.
const EnvPrefix = "PGCDC_"

// ReservedEnv lists PGCDC_* variables that are not config keys (cmd reads
// them itself), so ApplyEnv ignores them instead of rejecting them.
var ReservedEnv = []string{"PGCDC_CONFIG", "PGCDC_PG_BIN", "PGCDC_PG_USER", "PGCDC_TEST_PGLOG", "PGCDC_TEST_NORACE"}

// ApplyEnv overrides keys of cfg from the PGCDC_* entries of environ
// ("NAME=value", as from os.Environ). A key's variable is EnvPrefix plus
// its path in upper case with "_" between the parts: PGCDC_SOURCE_DSN,
// PGCDC_PIPELINE_SINK_QUEUE, PGCDC_SOURCE_RECONNECT_MAX_ELAPSED. A list
// entry is named by its index or, for sinks, by its name (or by its type
// when it has no name and is the one sink of that type), with characters
// other than letters and digits written as "_": PGCDC_SINKS_0_URL,
// PGCDC_SINKS_BILLING_URL. A list value (tables, where, allowed_origins)
// is comma-separated; commas inside parentheses, as in "region=in.(eu,us)",
// do not split. A header is PGCDC_SINKS_<sink>_HEADERS_<name>, matching an
// existing header case-insensitively with "_" for "-", or adding
// X_API_KEY as "X-Api-Key". Values are not ${}-expanded.
//
// Every PGCDC_* variable must name a key, except those in ReservedEnv; the
// problems are returned together as Errors, whose paths are the variable
// names. Variables are applied in name order. Values are never quoted back
// in messages about string keys, which may hold secrets.
//
// viper is not used for this: it cannot address a list entry by index or
// by sink name, and it ignores a misspelt variable instead of rejecting it.
func ApplyEnv(cfg *Config, environ []string) error {
	_, err := applyEnv(cfg, environ, nil)
	return err
}

// Setting sets one key by its path, e.g. from a command-line flag: Key
// "source.slot", From "--slot" (named in messages about the value).
type Setting struct {
	Key, Value, From string
}

// applyEnv is ApplyEnv followed by the settings, which win over the
// environment. It returns, for each key path it set, what set it.
func applyEnv(cfg *Config, environ []string, settings []Setting) (map[string]string, error) {
	idx := newEnvIndex(cfg)
	defer idx.unalloc()
	set := map[string]string{}
	vars := slices.Clone(environ)
	slices.Sort(vars)
	var errs errorList
	for _, kv := range vars {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || slices.Contains(ReservedEnv, name) {
			continue
		}
		k, err := idx.lookup(strings.ToUpper(name))
		path := ""
		if err == nil {
			path, err = k.set(val)
		}
		if err != nil {
			errs.add(name, "%v", err)
			continue
		}
		set[path] = name
	}
	for _, s := range settings {
		k, ok := idx.byPath[s.Key]
		if !ok {
			errs.add(s.From, "internal: %s names no config key", s.Key)
			continue
		}
		path, err := k.set(s.Value)
		if err != nil {
			errs.add(s.From, "%v", err)
			continue
		}
		set[path] = s.From
	}
	return set, errs.err()
}

// envKey is one key an override can set; header is set for a header,
// the variable's part after HEADERS_.
type envKey struct {
	path, header string
	v            reflect.Value // settable
	section      bool          // a mapping or list, not a key
}

// envIndex maps every override name of a Config to its key, first come
// first served: an index (PGCDC_SINKS_1_URL) before a name.
type envIndex struct {
	byName, byPath map[string]*envKey
	headers        map[string]*envKey // "PGCDC_SINKS_X_HEADERS_" → the map
	lists          map[string]*envKey // "PGCDC_SINKS_" → the list, for index errors
	// allocated are nil pointers (filter, project) given a value so that
	// their keys can be set; the ones still empty are reset by unalloc.
	allocated []reflect.Value
}

func newEnvIndex(cfg *Config) *envIndex {
	idx := &envIndex{byName: map[string]*envKey{}, byPath: map[string]*envKey{},
		headers: map[string]*envKey{}, lists: map[string]*envKey{}}
	idx.add(reflect.ValueOf(cfg).Elem(), EnvPrefix[:len(EnvPrefix)-1], "")
	return idx
}

// add indexes v, whose override name is name and key path is path.
func (idx *envIndex) add(v reflect.Value, name, path string) {
	k := &envKey{path: path, v: v, section: true}
	switch t := v.Type(); {
	case isLeaf(t):
		k.section = false
	case t.Kind() == reflect.Struct:
		for _, f := range fieldsOf(t) {
			idx.add(v.FieldByIndex(f.index), name+"_"+strings.ToUpper(f.name), join(path, f.name))
		}
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
			idx.allocated = append(idx.allocated, v)
		}
		idx.add(v.Elem(), name, path)
		return
	case t.Kind() == reflect.Slice:
		idx.lists[name+"_"] = k
		for i := range v.Len() {
			idx.add(v.Index(i), name+"_"+strconv.Itoa(i), index(path, i))
		}
		for i := range v.Len() {
			if n := entryName(v, i); n != "" {
				idx.add(v.Index(i), name+"_"+envName(n), index(path, i))
			}
		}
	case t.Kind() == reflect.Map:
		idx.headers[name+"_"] = k
	}
	if _, taken := idx.byName[name]; !taken {
		idx.byName[name] = k
	}
	if _, taken := idx.byPath[path]; !taken {
		idx.byPath[path] = k
	}
}

// isLeaf reports whether values of t are set whole by one override.
func isLeaf(t reflect.Type) bool {
	return t.Kind() == reflect.String || t.Kind() == reflect.Bool ||
		t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64 ||
		t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String
}

// unalloc resets the pointers that add allocated and no override used.
func (idx *envIndex) unalloc() {
	for _, p := range idx.allocated {
		if p.Elem().IsZero() {
			p.Set(reflect.Zero(p.Type()))
		}
	}
}

// lookup finds the key of an override name.
func (idx *envIndex) lookup(name string) (*envKey, error) {
	if k, ok := idx.byName[name]; ok && !k.section {
		return k, nil
	} else if ok {
		return nil, fmt.Errorf("%s is a section, not a key: set its keys one by one", k.path)
	}
	for prefix, k := range idx.headers {
		if rest, ok := strings.CutPrefix(name, prefix); ok && rest != "" {
			return &envKey{path: k.path, header: rest, v: k.v}, nil
		}
	}
	for prefix, k := range idx.lists {
		i, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), "_")
		if n, err := strconv.Atoi(i); err == nil && strings.HasPrefix(name, prefix) && n >= k.v.Len() {
			return nil, fmt.Errorf("%s has %d entries: index %d is out of range (an override cannot add an entry)", k.path, k.v.Len(), n)
		}
	}
	var names []string
	for n, k := range idx.byName {
		if !k.section {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if hint := closest(name, names); hint != "" {
		return nil, fmt.Errorf("names no config key (did you mean %s?)", hint)
	}
	return nil, errors.New("names no config key")
}

// set parses val into the key, the same way as a value in the file
// (without ${} expansion), except that a list is comma-separated and a
// boolean may be written as strconv.ParseBool reads it (1, t, false...).
// It returns the path of the key set.
func (k *envKey) set(val string) (string, error) {
	switch t := k.v.Type(); t.Kind() {
	case reflect.Map:
		name := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(k.header, "_", "-"))
		for _, mk := range k.v.MapKeys() {
			if envName(mk.String()) == k.header {
				name = mk.String()
			}
		}
		if k.v.IsNil() {
			k.v.Set(reflect.MakeMap(t))
		}
		k.v.SetMapIndex(reflect.ValueOf(name), reflect.ValueOf(val))
		return join(k.path, name), nil
	case reflect.Slice:
		k.v.Set(reflect.ValueOf(splitList(val)))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return "", fmt.Errorf("%s: want true or false, got %s", k.path, quoteValue(val))
		}
		k.v.SetBool(b)
	default:
		d := decoder{raw: true}
		d.decode(&ast.StringNode{BaseNode: &ast.BaseNode{}, Value: val}, k.v, k.path)
		if err := d.errs.err(); err != nil {
			return "", err
		}
	}
	return k.path, nil
}

// entryName returns the name by which list entry i of v can be addressed
// in an override: a sink's name, or its type when it is the one sink of
// that type and has no name. Other lists have no names.
func entryName(v reflect.Value, i int) string {
	sinks, ok := v.Interface().([]Sink)
	if !ok {
		return ""
	}
	if sinks[i].Name != "" {
		return sinks[i].Name
	}
	n := 0
	for _, s := range sinks {
		if s.Type == sinks[i].Type {
			n++
		}
	}
	if n == 1 {
		return sinks[i].Type
	}
	return ""
}

// envName upper-cases s and writes every character other than an ASCII
// letter or digit as "_".
func envName(s string) string {
	b := []byte(strings.ToUpper(s))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items; commas inside parentheses do not split.
func splitList(s string) []string {
	out := []string{}
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '(' {
			depth++
		} else if i < len(s) && s[i] == ')' && depth > 0 {
			depth--
		} else if i == len(s) || s[i] == ',' && depth == 0 {
			if item := strings.TrimSpace(s[start:i]); item != "" {
				out = append(out, item)
			}
			start = i + 1
		}
	}
	return out
}
