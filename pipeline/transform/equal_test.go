package transform

import (
	"reflect"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func TestNewCond(t *testing.T) {
	for _, v := range []string{"7,8", "x) or (1", `"quoted"`, "(a,b)", "", "not.eq.1", "%", "a\x00b"} {
		c, err := NewCond("tenant_id", OpEq, false, v)
		if err != nil {
			t.Fatalf("NewCond(eq, %q): %v", v, err)
		}
		if got := c.Values(); len(got) != 1 || got[0] != v || c.Operator() != OpEq || c.Column() != "tenant_id" {
			t.Fatalf("NewCond(eq, %q) = %s: values %q", v, c, got)
		}
		again, err := ParseCond(c.String())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("NewCond(eq, %q).String() = %q parses to %#v, %v", v, c.String(), again, err)
		}
		// The value matches as one string, never as a list.
		if !c.MatchColumn(col("tenant_id", str, string(pipeline.AppendJSONString(nil, v)))) {
			t.Errorf("%s does not match its own value", c)
		}
		if v == "7,8" && c.MatchColumn(col("tenant_id", num, "7")) {
			t.Errorf("%s matches 7", c)
		}
	}
	in, err := NewCond("region", OpIn, false, "eu,us", "x)")
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Values(); !reflect.DeepEqual(got, []string{"eu,us", "x)"}) {
		t.Fatalf("in values = %q", got)
	}
	if in.MatchColumn(col("region", str, `"eu"`)) || !in.MatchColumn(col("region", str, `"eu,us"`)) {
		t.Errorf("%s: an item split or lost", in)
	}
	for _, bad := range []struct {
		col    string
		op     Operator
		values []string
	}{
		{"", OpEq, []string{"1"}},
		{"a", OpEq, nil},
		{"a", OpEq, []string{"1", "2"}},
		{"a", OpIn, nil},
		{"a", OpIsNull, []string{"1"}},
		{"a", 0, []string{"1"}},
		{"a", OpLike, []string{`ends\`}},
	} {
		if c, err := NewCond(bad.col, bad.op, false, bad.values...); err == nil {
			t.Errorf("NewCond(%q, %v, %q) = %s, want an error", bad.col, bad.op, bad.values, c)
		}
	}
}

func TestEqualKey(t *testing.T) {
	same := []struct {
		kind pipeline.Kind
		a, b string
	}{
		{num, "7", "7.0"}, {num, "7", "0.7e1"}, {num, "7.50", "7.5"}, {num, "-0", "0"}, {num, "700", "7e2"},
		{num, "0.07", "7e-2"}, {num, "NaN", "nan"}, {num, "Infinity", "inf"},
		{tim, "2026-01-01T00:00:00Z", "2026-01-01"}, {tim, "2026-01-01T02:00:00+02:00", "2026-01-01 00:00:00"},
		{pipeline.KindInterval, "P1M", "P30D"}, {pipeline.KindClock, "10:00:00", "10:00"},
	}
	for _, s := range same {
		if a, b := string(AppendEqualKey(nil, s.kind, s.a)), string(AppendEqualKey(nil, s.kind, s.b)); a != b {
			t.Errorf("kind %d: key(%q) = %q != key(%q) = %q", s.kind, s.a, a, s.b, b)
		}
	}
	differ := []struct {
		kind pipeline.Kind
		a, b string
	}{
		{num, "7", "70"}, {num, "7", "-7"}, {num, "7", "7a"}, {num, "Infinity", "-Infinity"}, {num, "0.7", "7"},
		{str, "7", "7.0"}, {str, "a", "ta"}, {tim, "2026-01-01", "2026-01-02"}, {num, "1e1", "t1e1"},
	}
	for _, d := range differ {
		if a, b := string(AppendEqualKey(nil, d.kind, d.a)), string(AppendEqualKey(nil, d.kind, d.b)); a == b {
			t.Errorf("kind %d: key(%q) == key(%q) = %q", d.kind, d.a, d.b, a)
		}
	}
	if _, ok := AppendColumnKey(nil, col("v", num, "null")); ok {
		t.Error("NULL has a key")
	}
}

// FuzzEqualKey checks AppendEqualKey against its oracle, the eq
// condition: for every kind, a value matches eq.literal exactly when
// their keys are equal.
func FuzzEqualKey(f *testing.F) {
	for _, s := range [][2]string{
		{"7", "7.0"}, {"7.50", "7.5"}, {"-0", "0"}, {"NaN", "nan"}, {"1e400", "1e+400"}, {"2026-01-01", "2026-01-01T00:00:00Z"},
		{"P1M", "P30D"}, {"10:00:00+01", "09:00:00Z"}, {"true", "true"}, {"x", "x"}, {"", ""}, {"Infinity", "infinity"},
	} {
		f.Add(s[0], s[1])
	}
	kinds := []pipeline.Kind{str, num, boo, tim, jsn, byt, pipeline.KindInterval, pipeline.KindClock}
	f.Fuzz(func(t *testing.T, value, lit string) {
		c, err := NewCond("v", OpEq, false, lit)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kinds {
			v := col("v", k, string(pipeline.AppendJSONString(nil, value)))
			key, ok := AppendColumnKey(nil, v)
			if !ok {
				t.Fatalf("string %q has no key", value)
			}
			want := c.MatchColumn(v)
			if got := string(key) == string(AppendEqualKey(nil, k, lit)); got != want {
				t.Fatalf("kind %d, value %q, literal %q: keys equal = %v, eq matches = %v", k, value, lit, got, want)
			}
		}
	})
}
