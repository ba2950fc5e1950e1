package config

import (
	"fmt"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
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
func ApplyEnv(cfg *Config, environ []string) error {
	_, err := applyEnv(cfg, environ)
	return err
}

// applyEnv is ApplyEnv also returning, for each key path it set, the
// variable that set it.
func applyEnv(cfg *Config, environ []string) (map[string]string, error) {
	set := map[string]string{}
	vars := slices.Clone(environ)
	slices.Sort(vars)
	var errs errorList
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range vars {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || slices.Contains(ReservedEnv, name) {
			continue
		}
		toks := strings.Split(strings.ToUpper(name[len(EnvPrefix):]), "_")
		if slices.Contains(toks, "") {
			errs.add(name, "names no config key: want %s plus a key path with single _ between parts", EnvPrefix)
			continue
		}
		var key string
		matched, err := setEnv(root, toks, "", val, &key)
		switch {
		case err != nil:
			errs.add(name, "%v", err)
		case !matched:
			msg := "names no config key"
			if hint := closest(name, envKeys(root, EnvPrefix[:len(EnvPrefix)-1])); hint != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", hint)
			}
			errs.add(name, "%s", msg)
		default:
			set[key] = name
		}
	}
	return set, errs.err()
}

// setEnv stores val at the key that toks name below v, whose path is
// path. It reports matched false when toks name no key, so that the caller
// can try another split of the tokens; err is a problem with a key that
// does exist.
// The path of the key set is stored in *key.
func setEnv(v reflect.Value, toks []string, path, val string, key *string) (matched bool, err error) {
	t := v.Type()
	switch {
	case t == durationType || t.Kind() == reflect.String || t.Kind() == reflect.Bool ||
		(t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64) ||
		(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String):
		if len(toks) > 0 {
			return false, nil
		}
		*key = path
		return true, setLeaf(v, val, path)
	case len(toks) == 0:
		return true, fmt.Errorf("%s is a section, not a key: set its keys one by one", path)
	case t.Kind() == reflect.Struct:
		fs := slices.Clone(fieldsOf(t))
		slices.SortStableFunc(fs, func(a, b field) int { return len(b.name) - len(a.name) })
		for _, f := range fs {
			ftoks := strings.Split(strings.ToUpper(f.name), "_")
			if !hasPrefixToks(toks, ftoks) {
				continue
			}
			if m, err := setEnv(v.FieldByIndex(f.index), toks[len(ftoks):], join(path, f.name), val, key); m {
				return true, err
			}
		}
		return false, nil
	case t.Kind() == reflect.Pointer:
		if !v.IsNil() {
			return setEnv(v.Elem(), toks, path, val, key)
		}
		tmp := reflect.New(t.Elem())
		m, err := setEnv(tmp.Elem(), toks, path, val, key)
		if m && err == nil {
			v.Set(tmp)
		}
		return m, err
	case t.Kind() == reflect.Slice:
		if i, err := strconv.Atoi(toks[0]); err == nil {
			if i < 0 || i >= v.Len() {
				return true, fmt.Errorf("%s has %d entries: index %d is out of range (an override cannot add an entry)", path, v.Len(), i)
			}
			return setEnv(v.Index(i), toks[1:], index(path, i), val, key)
		}
		for i := range v.Len() {
			name := entryName(v, i)
			if name == "" {
				continue
			}
			ntoks := strings.Split(envName(name), "_")
			if !hasPrefixToks(toks, ntoks) {
				continue
			}
			if m, err := setEnv(v.Index(i), toks[len(ntoks):], index(path, i), val, key); m {
				return true, err
			}
		}
		return false, nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		want := strings.Join(toks, "_")
		name := ""
		for _, k := range v.MapKeys() {
			if envName(k.String()) == want {
				name = k.String()
				break
			}
		}
		if name == "" {
			name = textproto.CanonicalMIMEHeaderKey(strings.Join(toks, "-"))
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		v.SetMapIndex(reflect.ValueOf(name), reflect.ValueOf(val))
		*key = join(path, name)
		return true, nil
	}
	return false, nil
}

// setLeaf parses val into the scalar or string list v.
func setLeaf(v reflect.Value, val, path string) error {
	t := v.Type()
	switch {
	case t == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%s: invalid duration %s: want a number with a unit, e.g. \"10s\" or \"200ms\"", path, quoteValue(val))
		}
		v.SetInt(int64(d))
	case t.Kind() == reflect.String:
		v.SetString(val)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("%s: want true or false, got %s", path, quoteValue(val))
		}
		v.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return fmt.Errorf("%s: want a whole number, got %s", path, quoteValue(val))
		}
		v.SetInt(n)
	case t.Kind() == reflect.Slice:
		v.Set(reflect.ValueOf(splitList(val)))
	}
	return nil
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

// hasPrefixToks reports whether toks starts with prefix.
func hasPrefixToks(toks, prefix []string) bool {
	return len(prefix) <= len(toks) && slices.Equal(toks[:len(prefix)], prefix)
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items; commas inside parentheses do not split.
func splitList(s string) []string {
	out := []string{}
	depth, start := 0, 0
	flush := func(end int) {
		if item := strings.TrimSpace(s[start:end]); item != "" {
			out = append(out, item)
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				flush(i)
				start = i + 1
			}
		}
	}
	flush(len(s))
	return out
}

// envKeys lists the override names of every key below v, for hints.
func envKeys(v reflect.Value, prefix string) []string {
	t := v.Type()
	switch {
	case t == durationType || t.Kind() != reflect.Struct && t.Kind() != reflect.Pointer &&
		!(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct):
		return []string{prefix}
	case t.Kind() == reflect.Struct:
		var out []string
		for _, f := range fieldsOf(t) {
			out = append(out, envKeys(v.FieldByIndex(f.index), prefix+"_"+strings.ToUpper(f.name))...)
		}
		return out
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			return envKeys(reflect.New(t.Elem()).Elem(), prefix)
		}
		return envKeys(v.Elem(), prefix)
	default: // slice of structs
		var out []string
		for i := range v.Len() {
			out = append(out, envKeys(v.Index(i), prefix+"_"+strconv.Itoa(i))...)
			if name := entryName(v, i); name != "" {
				out = append(out, envKeys(v.Index(i), prefix+"_"+envName(name))...)
			}
		}
		return out
	}
}
