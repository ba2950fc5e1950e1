package transform

import (
	"math/big"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

// fuzzRows are rows of every kind that fuzzed conditions are matched
// against, to catch panics on the match path.
var fuzzRows = []pipeline.Row{
	{col("v", str, `"x"`), col("a", num, `"1.5"`)},
	{col("v", num, `12`), col("a", str, `"a\"b"`)},
	{col("v", num, `"NaN"`)},
	{col("v", boo, `true`)},
	{col("v", tim, `"2026-11-23T10:00:00Z"`)},
	{col("v", jsn, `{"a":[1]}`)},
	{col("v", byt, `"AAE="`)},
	{col("v", str, `null`)},
	{col("v", str, `"`)},
	{col("v", num, `"\u00ff"`)},
}

func FuzzParseCond(f *testing.F) {
	for _, s := range []string{
		"status=eq.pending", "total=gt.100", "region=in.(eu,us)", "deleted_at=is.null", "paid=is.true",
		"x=not.is.false", "name=like.Jo%_\\%", `"a b"=lte.2026-01-01`, `v=in.("a,b", c ,"")`, "v=eq.",
		"total=gtx.5", "=", "", `"`, "v=in.(", `v=in.("\`, "v=neq.NaN", "v=lt.-1e-7",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCond(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error for %q", s)
			}
			return
		}
		again, err := ParseCond(c.String())
		if err != nil {
			t.Fatalf("ParseCond(%q).String() = %q does not parse: %v", s, c.String(), err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, c.String(), again, c)
		}
		for _, r := range fuzzRows {
			for i := range r {
				c.MatchColumn(r[i])
			}
			c.Match(r)
		}
	})
}

func FuzzTablePattern(f *testing.F) {
	for _, s := range []string{"public.orders", "orders", "*", "*.*", "public.audit_*", "a*b*c.*x", `"my.schema"."t*"`, "a.b.c", "", ".", `"`, `"a"x`} {
		f.Add(s, "public", "orders")
	}
	f.Fuzz(func(t *testing.T, s, schema, table string) {
		p, err := ParseTablePattern(s)
		if err != nil {
			return
		}
		again, err := ParseTablePattern(p.String())
		if err != nil {
			t.Fatalf("ParseTablePattern(%q).String() = %q does not parse: %v", s, p.String(), err)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, p.String(), again, p)
		}
		if got, want := p.Match(schema, table), globRegexp(p.schema).MatchString(schema) && globRegexp(p.table).MatchString(table); got != want {
			t.Fatalf("%q Match(%q, %q) = %v, want %v", s, schema, table, got, want)
		}
		if ls, lt, ok := p.Literal(); ok && !p.Match(ls, lt) {
			t.Fatalf("%q does not match its own table %q.%q", s, ls, lt)
		}
	})
}

func globRegexp(g glob) *regexp.Regexp {
	if !g.star {
		return regexp.MustCompile(`^` + regexp.QuoteMeta(g.lit) + `$`)
	}
	parts := strings.Split(g.lit, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile(`^(?s:` + strings.Join(parts, ".*") + `)$`)
}

func FuzzDecimal(f *testing.F) {
	for _, s := range [][2]string{{"1", "1.0"}, {"-0", "0"}, {"1e3", "999.9"}, {".5", "0.50"}, {"NaN", "Infinity"}, {"12345678901234567890.5", "12345678901234567890.4"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		da, okA := parseDecimal(a)
		db, okB := parseDecimal(b)
		if !okA || !okB {
			return
		}
		if da.cmp(db) != -db.cmp(da) || da.cmp(da) != 0 {
			t.Fatalf("cmp(%q, %q) is not antisymmetric", a, b)
		}
		if da.class != classFinite || db.class != classFinite || hugeExponent(a) || hugeExponent(b) {
			return
		}
		ra, okA := new(big.Rat).SetString(a)
		rb, okB := new(big.Rat).SetString(b)
		if okA && okB {
			if got, want := da.cmp(db), ra.Cmp(rb); got != want {
				t.Fatalf("cmp(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	})
}

// hugeExponent reports whether s has an exponent that math/big would take
// long to expand.
func hugeExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	return i >= 0 && len(strings.TrimLeft(s[i+1:], "+-0")) > 3
}

func FuzzLike(f *testing.F) {
	for _, s := range [][2]string{{"a%", "abc"}, {"_b%", "ébc"}, {`\%%`, "%x"}, {"%a%b", "aab"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		toks, err := compileLike(p)
		if err != nil {
			return
		}
		got := matchLike(toks, s)
		if !utf8Valid(p) || !utf8Valid(s) {
			return // regexp matches invalid UTF-8 differently
		}
		if want := regexp.MustCompile(likeRegexp(p)).MatchString(s); got != want {
			t.Fatalf("%q LIKE %q = %v, want %v", s, p, got, want)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
