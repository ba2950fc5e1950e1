package config

import (
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
)

// Marshal prints c as YAML that Load reads back to the same configuration:
// keys with zero values are left out (SetDefaults restores the defaulted
// ones), and every "$" in a value is written "$$" so that no value is
// expanded a second time. Secrets are printed as they are: print
// c.Redacted() to show a configuration to a person.
func Marshal(c *Config) ([]byte, error) {
	out := deepCopy(reflect.ValueOf(c))
	escapeDollars(out)
	return yaml.MarshalWithOptions(out.Interface(), yaml.OmitZero(), yaml.IndentSequence(true))
}

// escapeDollars doubles every "$" in the strings reachable from v, which
// must be settable (a deep copy).
func escapeDollars(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			escapeDollars(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			escapeDollars(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			escapeDollars(v.Index(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if s, ok := iter.Value().Interface().(string); ok {
				v.SetMapIndex(iter.Key(), reflect.ValueOf(strings.ReplaceAll(s, "$", "$$")))
			}
		}
	case reflect.String:
		v.SetString(strings.ReplaceAll(v.String(), "$", "$$"))
	}
}
