package config

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// field is one YAML key of a struct type, found through its yaml tag.
// Fields of ",inline" structs are flattened into their parent, as YAML
// sees them.
type field struct {
	name  string // the YAML key
	index []int  // for reflect.Value.FieldByIndex
}

// structFields caches fieldsOf per type.
var structFields sync.Map // reflect.Type -> []field

var durationType = reflect.TypeFor[time.Duration]()

// fieldsOf returns the YAML keys of struct type t in declaration order.
// Fields without a yaml tag, or tagged "-", are not keys.
func fieldsOf(t reflect.Type) []field {
	if v, ok := structFields.Load(t); ok {
		return v.([]field)
	}
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok || tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Type.Kind() == reflect.Struct && slices.Contains(strings.Split(opts, ","), "inline") {
			for _, inner := range fieldsOf(sf.Type) {
				out = append(out, field{name: inner.name, index: append([]int{i}, inner.index...)})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out = append(out, field{name: name, index: []int{i}})
	}
	structFields.Store(t, out)
	return out
}

// lookupField returns the field of struct type t whose YAML key is name.
func lookupField(t reflect.Type, name string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// fieldNames lists the YAML keys of struct type t.
func fieldNames(t reflect.Type) []string {
	fs := fieldsOf(t)
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a likely typo, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", min(len(s)/2+1, 3)+1 // near enough: at most 3 edits, fewer for short keys
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // keys are short; do not spend time on long input
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
