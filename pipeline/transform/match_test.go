package transform

import (
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

const (
	str  = pipeline.KindString
	num  = pipeline.KindNumber
	boo  = pipeline.KindBool
	tim  = pipeline.KindTime
	jsn  = pipeline.KindJSON
	byt  = pipeline.KindBytes
	null = "null"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		kind   pipeline.Kind
		value  string // JSON
		filter string // on column v
		want   bool
	}{
		// Numbers: JSON numbers and exact decimal strings.
		{num, `42`, "v=eq.42", true},
		{num, `42`, "v=eq.42.0", true},
		{num, `42`, "v=eq.4.2e1", true},
		{num, `42`, "v=neq.42", false},
		{num, `42`, "v=neq.43", true},
		{num, `42`, "v=gt.9", true}, // not "42" < "9" as text
		{num, `42`, "v=lt.100", true},
		{num, `42`, "v=lte.42", true},
		{num, `42`, "v=gte.42.0000001", false},
		{num, `-1.5`, "v=lt.-1.25", true},
		{num, `-0`, "v=eq.0", true},
		{num, `1e3`, "v=eq.1000", true},
		{num, `"12345678901234567890.5"`, "v=gt.12345678901234567890.4", true},
		{num, `"12345678901234567890.5"`, "v=eq.12345678901234567890.50", true},
		{num, `"12345678901234567891"`, "v=gt.12345678901234567890", true}, // equal as float64
		{num, `"12345678901234567890"`, "v=eq.12345678901234567891", false},
		{num, `"9223372036854775807"`, "v=in.(1,9223372036854775807)", true},
		{num, `"0.1"`, "v=eq..1", true},
		{num, `"NaN"`, "v=eq.NaN", true},
		{num, `"NaN"`, "v=gt.Infinity", true},
		{num, `"NaN"`, "v=gt.1e300", true},
		{num, `"Infinity"`, "v=gt.1e300", true},
		{num, `"Infinity"`, "v=eq.inf", true},
		{num, `"-Infinity"`, "v=lt.-1e300", true},
		{num, `"-Infinity"`, "v=lt.NaN", true},
		{num, `5`, "v=eq.abc", false}, // not a number: compared as text
		{num, `5`, "v=neq.abc", true},
		{num, `5`, "v=like.5", true},
		{num, `15`, "v=like.1_", true},
		{num, `5`, "v=in.(4,5.0,6)", true},
		{num, `7`, "v=in.(4,5.0,6)", false},
		{num, `7`, "v=not.in.(4,5,6)", true},
		{num, `7`, "v=not.gt.6", false},
		// Booleans.
		{boo, `true`, "v=eq.true", true},
		{boo, `true`, "v=eq.false", false},
		{boo, `false`, "v=neq.true", true},
		{boo, `false`, "v=lt.true", true},
		{boo, `true`, "v=gte.false", true},
		{boo, `true`, "v=is.true", true},
		{boo, `true`, "v=is.false", false},
		{boo, `false`, "v=is.false", true},
		{boo, `false`, "v=not.is.true", true},
		{boo, `true`, "v=in.(false,true)", true},
		{boo, `true`, "v=eq.yes", false},
		// Times.
		{tim, `"2026-11-23T10:00:00.123456Z"`, "v=gt.2026-11-23T10:00:00Z", true},
		{tim, `"2026-11-23T10:00:00Z"`, "v=eq.2026-11-23T11:00:00+01:00", true},
		{tim, `"2026-11-23T10:00:00+00"`, "v=eq.2026-11-23 10:00:00", true},
		{tim, `"2026-11-23T10:00:00"`, "v=gte.2026-11-23", true},
		{tim, `"2026-11-22T23:59:59.999999999Z"`, "v=lt.2026-11-23", true},
		{tim, `"2026-11-23"`, "v=eq.2026-11-23T00:00:00Z", true},
		{tim, `"2026-11-23T10:00:00-05:30"`, "v=eq.2026-11-23T15:30:00Z", true},
		{tim, `"2026-11-23T10:00:00Z"`, "v=lt.2026-11-23T09:00:00-02:00", true}, // 11:00Z; not text order
		{tim, `"infinity"`, "v=gt.9999-12-31", true},
		{tim, `"-infinity"`, "v=lt.0001-01-01", true},
		{tim, `"2026-11-23T10:00:00Z"`, "v=in.(2026-11-23T12:00:00+02:00)", true},
		{tim, `"10:30:00"`, "v=gt.09:00:00", true}, // time of day: text
		{tim, `"P1D"`, "v=eq.P1D", true},           // interval: text
		{tim, `"2026-11-23T10:00:00Z"`, "v=like.2026-11-%", true},
		{tim, `"2026-11-23T10:00:00Z"`, "v=eq.soon", false},
		// Strings: byte order, JSON unescaped.
		{str, `"pending"`, "status=eq.pending", true},
		{str, `"pending"`, "v=eq.pending", true},
		{str, `"pending"`, "v=neq.pending", false},
		{str, `"b"`, "v=gt.a", true},
		{str, `"B"`, "v=gt.a", false},
		{str, `"9"`, "v=gt.10", true}, // text, not numbers
		{str, `"abc"`, "v=lt.abd", true},
		{str, `"abc"`, "v=lte.abc", true},
		{str, `"abc"`, "v=gte.abd", false},
		{str, `"eu"`, "v=in.(eu,us)", true},
		{str, `"a,b"`, `v=in.("a,b",c)`, true},
		{str, `""`, `v=in.("")`, true},
		{str, `""`, "v=eq.", true},
		{str, `"say \"hi\"\n"`, "v=eq.say \"hi\"\n", true},
		{str, `"caf\u00e9"`, "v=eq.café", true},
		{str, `"café"`, "v=like.caf_", true},
		{str, `"Johnson"`, "v=like.Jo%", true},
		{str, `"johnson"`, "v=like.Jo%", false},
		{str, `"50%"`, `v=like.50\%`, true},
		{str, `"500"`, `v=like.50\%`, false},
		{str, `"true"`, "v=is.true", true},
		{str, `"x"`, "v=is.true", false},
		{str, `"x"`, "v=not.like.y%", true},
		// JSON and bytes compare as text.
		{jsn, `{"a":1}`, `v=eq.{"a":1}`, true},
		{jsn, `{"a":1}`, `v=like.%"a"%`, true},
		{jsn, `"text"`, `v=eq.text`, true},
		{jsn, `[1,2]`, `v=eq.[1,2]`, true},
		{byt, `"3q2+7w=="`, `v=eq.3q2+7w==`, true},
		// NULL: only is.null (and the total is.* negations) match.
		{str, null, "v=is.null", true},
		{str, null, "v=not.is.null", false},
		{str, `"x"`, "v=is.null", false},
		{str, `"x"`, "v=not.is.null", true},
		{boo, null, "v=is.true", false},
		{boo, null, "v=is.false", false},
		{boo, null, "v=not.is.true", true},
		{boo, null, "v=not.is.false", true},
		{str, null, "v=eq.null", false},
		{str, null, "v=neq.x", false},
		{str, null, "v=not.eq.x", false},
		{num, null, "v=lt.1", false},
		{num, null, "v=gte.1", false},
		{num, null, "v=not.gte.1", false},
		{str, null, "v=in.(null,x)", false},
		{str, null, "v=not.in.(x)", false},
		{str, null, "v=like.%", false},
		{str, null, "v=not.like.x", false},
		{tim, null, "v=lt.2026-01-01", false},
	}
	for _, tt := range tests {
		c := mustCond(t, tt.filter)
		name := c.Column()
		row := pipeline.Row{col("id", num, "1"), col(name, tt.kind, tt.value)}
		if got := c.Match(row); got != tt.want {
			t.Errorf("%s on %s (kind %d) = %v, want %v", tt.filter, tt.value, tt.kind, got, tt.want)
		}
	}
}

func TestMatchAbsentColumn(t *testing.T) {
	row := pipeline.Row{col("id", num, "1")}
	for _, f := range []string{"v=eq.1", "v=is.null", "v=not.is.null", "v=not.eq.1", "v=not.is.true", "v=like.%"} {
		if mustCond(t, f).Match(row) {
			t.Errorf("%s matched a row without column v", f)
		}
		if mustCond(t, f).Match(nil) {
			t.Errorf("%s matched a nil row", f)
		}
	}
}

func TestMatchQuotedColumn(t *testing.T) {
	row := pipeline.Row{col("order total", num, `"10.5"`), col(`a"b`, str, `"x"`)}
	if !mustCond(t, `"order total"=gt.10`).Match(row) {
		t.Error(`"order total"=gt.10 did not match 10.5`)
	}
	if !mustCond(t, `"a\"b"=eq.x`).Match(row) {
		t.Error(`"a\"b"=eq.x did not match`)
	}
}

func TestMatchAllocs(t *testing.T) {
	row := pipeline.Row{
		col("id", num, `"12345678901234567890"`), col("status", str, `"paid"`),
		col("at", tim, `"2026-11-23T10:00:00+02:00"`), col("ok", boo, "true"),
	}
	for _, f := range []string{"id=gt.100", "status=eq.paid", "status=in.(new,paid)", "at=gte.2026-01-01", "ok=is.true", "status=like.p%d"} {
		c := mustCond(t, f)
		if !c.Match(row) {
			t.Fatalf("%s did not match", f)
		}
		if n := testing.AllocsPerRun(100, func() { c.Match(row) }); n != 0 {
			t.Errorf("%s: %v allocations per match, want 0", f, n)
		}
	}
}
