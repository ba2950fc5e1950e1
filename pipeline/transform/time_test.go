package transform

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

const (
	ivl = pipeline.KindInterval
	clk = pipeline.KindClock
)

// TestMatchIntervalAndClock: intervals compare as PostgreSQL compares them
// (a month is 30 days), not as text; times of day compare as times, a
// timetz by its UTC time.
func TestMatchIntervalAndClock(t *testing.T) {
	tests := []struct {
		kind   pipeline.Kind
		value  string
		filter string
		want   bool
	}{
		{ivl, `"PT36H"`, "v=gt.P2D", false}, // as text "PT36H" > "P2D"
		{ivl, `"P10D"`, "v=gt.P2D", true},   // as text "P10D" < "P2D"
		{ivl, `"PT48H"`, "v=eq.P2D", true},
		{ivl, `"P1M"`, "v=eq.P30D", true},
		{ivl, `"P1Y"`, "v=eq.P360D", true},
		{ivl, `"P1Y2M3DT4H5M6.5S"`, "v=gt.P1Y2M3DT4H5M6S", true},
		{ivl, `"P1Y2M3DT4H5M6.5S"`, "v=lt.P1Y2M3DT4H5M6.500001S", true},
		{ivl, `"P-1D"`, "v=lt.PT0S", true},
		{ivl, `"P1DT-1H"`, "v=eq.PT23H", true},
		{ivl, `"PT-0.5S"`, "v=lt.PT0S", true},
		{ivl, `"P2W"`, "v=eq.P14D", true},
		{ivl, `"PT0S"`, "v=eq.-P0D", true},
		{ivl, `"P1D"`, "v=in.(PT24H,P2D)", true},
		{ivl, `"P1D"`, "v=eq.-P1D", false},
		{clk, `"10:00:00"`, "v=gt.9:30", false}, // not a time: text
		{clk, `"10:00:00"`, "v=gt.09:30", true},
		{clk, `"10:00:00"`, "v=eq.10:00", true},
		{clk, `"10:00:00.5"`, "v=gt.10:00:00", true},
		{clk, `"24:00:00"`, "v=gt.23:59:59.999999", true},
		{clk, `"10:00:00+02"`, "v=eq.08:00:00Z", false}, // same instant, other zone
		{clk, `"10:00:00+02"`, "v=lt.09:00:00Z", true},  // 08:00 UTC
		{clk, `"10:00:00+02"`, "v=gt.07:59:59+00", true},
		{clk, `"10:00:00-03:30"`, "v=gt.13:00:00Z", true}, // 13:30 UTC
		{tim, `"2026-12-03T07:00:00Z"`, "v=eq.2026-12-03T09:00:00+02:00", true},
	}
	for _, tt := range tests {
		c := mustCond(t, tt.filter)
		if got := c.MatchColumn(col("v", tt.kind, tt.value)); got != tt.want {
			t.Errorf("%s on %s: got %v, want %v", tt.filter, tt.value, got, tt.want)
		}
	}
}

var timeCatalog = pipeline.StaticCatalog{
	{Schema: "public", Table: "t", Columns: []pipeline.ColumnInfo{
		{Name: "ts", Kind: tim, Type: "timestamptz"},
		{Name: "d", Kind: tim, Type: "date"},
		{Name: "dur", Kind: ivl, Type: "interval"},
		{Name: "at", Kind: clk, Type: "time"},
		{Name: "u", Kind: str, Type: "uuid"},
		{Name: "s", Kind: str, Type: "text"},
	}},
}

// TestCheckTimeValues: a value that does not parse as its column's type is
// an error naming the value, the column and what was expected - it would
// otherwise compare as text and silently match the wrong rows.
func TestCheckTimeValues(t *testing.T) {
	tests := []struct {
		filter string
		want   string // "" = valid
	}{
		{"ts=gt.2026-12-03T09:00:00+02:00", ""},
		{"ts=gt.2026-12-03", ""},
		{"ts=lt.infinity", ""},
		{"ts=gt.notatime", `"notatime" is not a date or timestamp, e.g. 2026-12-03 or 2026-12-03T09:00:00Z, but column "ts" of public.t is a date/time`},
		{"ts=gt.1600000000", `"1600000000" is not a date or timestamp`},
		{"ts=gt.2026-12-03T09:00:00 02:00", `write the offset's + as %2B`},
		{"d=in.(2026-01-01,soon)", `"soon" is not a date or timestamp`},
		{"dur=gt.P2D", ""},
		{"dur=gt.2 days", `"2 days" is not an ISO 8601 interval, e.g. P2D or PT36H, but column "dur" of public.t is an interval`},
		{"at=gt.10:00", ""},
		{"at=gt.10am", `"10am" is not a time of day`},
		{"u=eq.a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ""},
		{"u=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", `is not a uuid in lower case with hyphens`},
		{"u=eq.nope", `but column "u" of public.t is uuid`},
		{"u=is.null", ""},
		{"s=gt.anything", ""},
		{"ts=like.2026%", ""},
	}
	for _, tt := range tests {
		f := mustFilter(t, FilterSpec{Where: []string{tt.filter}})
		err := f.Check(timeCatalog)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected %v", tt.filter, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error containing %q", tt.filter, err, tt.want)
		}
	}
}

// FuzzInterval checks parseInterval against exact arithmetic: an interval
// written as PostgreSQL writes it parses to months*30 days + days + time,
// normalised so that the time part is under a day, and comparison agrees
// with comparing the exact totals.
func FuzzInterval(f *testing.F) {
	f.Add(int32(1), int32(2), int32(3), int32(4), int32(5), int32(6), uint32(500000), int32(0), int32(0), int32(-1), int32(0), int32(0), int32(0), uint32(0))
	f.Add(int32(0), int32(0), int32(0), int32(-36), int32(0), int32(0), uint32(0), int32(0), int32(0), int32(2), int32(0), int32(0), int32(0), uint32(0))
	f.Fuzz(func(t *testing.T, y, mo, d, h, mi, s int32, us uint32, y2, mo2, d2, h2, mi2, s2 int32, us2 uint32) {
		a, ta := pgInterval(y, mo, d, h, mi, s, us)
		b, tb := pgInterval(y2, mo2, d2, h2, mi2, s2, us2)
		sa, ok := parseInterval(a)
		if !ok {
			t.Fatalf("parseInterval(%q) failed", a)
		}
		sb, ok := parseInterval(b)
		if !ok {
			t.Fatalf("parseInterval(%q) failed", b)
		}
		if sa.usec < 0 || sa.usec >= usecPerDay {
			t.Fatalf("%q: time part %d not normalised", a, sa.usec)
		}
		got := new(big.Int).Add(new(big.Int).Mul(big.NewInt(sa.days), big.NewInt(usecPerDay)), big.NewInt(sa.usec))
		if got.Cmp(ta) != 0 {
			t.Fatalf("%q: parsed %v µs, want %v", a, got, ta)
		}
		if c := sa.cmp(sb); c != ta.Cmp(tb) {
			t.Fatalf("cmp(%q, %q) = %d, want %d", a, b, c, ta.Cmp(tb))
		}
	})
}

// pgInterval writes an interval in PostgreSQL's iso_8601 style and returns
// its exact total in microseconds, as PostgreSQL compares it.
func pgInterval(y, mo, d, h, mi, s int32, us uint32) (string, *big.Int) {
	negFrac := us&(1<<31) != 0 && s == 0 // e.g. PT-0.5S
	us %= 1000000
	var b strings.Builder
	b.WriteString("P")
	for _, p := range []struct {
		n    int32
		unit string
	}{{y, "Y"}, {mo, "M"}, {d, "D"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	b.WriteString("T")
	fmt.Fprintf(&b, "%dH%dM", h, mi)
	neg := s < 0 || negFrac
	sec := int64(s)
	if neg {
		sec = -sec
		b.WriteString("-")
	}
	fmt.Fprintf(&b, "%d.%06dS", sec, us)
	total := new(big.Int)
	add := func(n int64, unit int64) { total.Add(total, new(big.Int).Mul(big.NewInt(n), big.NewInt(unit))) }
	add(int64(y)*12*30+int64(mo)*30+int64(d), usecPerDay)
	add(int64(h), 3600e6)
	add(int64(mi), 60e6)
	secUS := sec*1e6 + int64(us)
	if neg {
		secUS = -secUS
	}
	add(secUS, 1)
	return b.String(), total
}
