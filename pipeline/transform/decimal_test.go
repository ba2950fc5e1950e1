package transform

import (
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	valid := []string{"0", "-0", "+1", "1.", ".5", "1.5e3", "1E-3", "1e+3", "00012.3400", "NaN", "nan", "Infinity", "-infinity", "+Inf", "-inf"}
	for _, s := range valid {
		if _, ok := parseDecimal(s); !ok {
			t.Errorf("parseDecimal(%q) failed", s)
		}
	}
	invalid := []string{"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "1,5", " 1", "1 ", "0x10", "-nan", "1e10000000000", "abc", "12a", "--1", "Infinityx"}
	for _, s := range invalid {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) succeeded", s)
		}
	}
}

// TestDecimalOrder compares decimal.cmp with math/big on random exact
// decimals written in several notations.
func TestDecimalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	write := func(x *big.Rat, scale int) string {
		// x has at most scale fractional digits; pick a notation.
		s := x.FloatString(scale)
		switch r.IntN(3) {
		case 1: // e-notation: shift the point.
			f, _ := new(big.Rat).SetString(s)
			f.Mul(f, new(big.Rat).SetInt64(1000))
			return f.FloatString(scale) + "e-3"
		case 2: // trailing zeros
			if scale > 0 {
				return s + "000"
			}
		}
		return s
	}
	for range 5000 {
		scale := r.IntN(6)
		mk := func() *big.Rat {
			n := big.NewInt(r.Int64N(1e12))
			if r.IntN(2) == 0 {
				n.Neg(n)
			}
			if r.IntN(4) == 0 {
				n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.IntN(25))), nil))
			}
			return new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		}
		a, b := mk(), mk()
		if r.IntN(5) == 0 {
			b.Set(a)
		}
		sa, sb := write(a, scale), write(b, scale)
		da, ok1 := parseDecimal(sa)
		db, ok2 := parseDecimal(sb)
		if !ok1 || !ok2 {
			t.Fatalf("parse %q / %q failed", sa, sb)
		}
		if got, want := da.cmp(db), a.Cmp(b); got != want {
			t.Fatalf("cmp(%q, %q) = %d, want %d", sa, sb, got, want)
		}
	}
}

func TestDecimalFloats(t *testing.T) {
	// JSON numbers as encoders write float8 values compare like the floats.
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		a, b := r.NormFloat64()*1e10, r.NormFloat64()*1e-5
		for _, fmtc := range []byte{'g', 'e', 'f'} {
			sa, sb := strconv.FormatFloat(a, fmtc, -1, 64), strconv.FormatFloat(b, fmtc, -1, 64)
			da, _ := parseDecimal(sa)
			db, _ := parseDecimal(sb)
			want := 0
			if a < b {
				want = -1
			} else if a > b {
				want = 1
			}
			if got := da.cmp(db); got != want {
				t.Fatalf("cmp(%s, %s) = %d, want %d", sa, sb, got, want)
			}
		}
	}
}

func TestParseInstant(t *testing.T) {
	layouts := []string{
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02 15:04:05Z07:00",
		"2006-01-02T15:04:05-07", "2006-01-02T15:04:05-0700", "2006-01-02T15:04Z07:00",
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		tm := time.Unix(r.Int64N(253402300799)-62135596800, r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(28)-14)*1800))
		if r.IntN(3) == 0 {
			tm = tm.Truncate(time.Minute)
		}
		layout := layouts[r.IntN(len(layouts))]
		s := tm.Format(layout)
		want, err := time.Parse(layout, s)
		if err != nil {
			t.Fatalf("time.Parse(%q): %v", s, err)
		}
		got, ok := parseInstant(s)
		if !ok {
			t.Fatalf("parseInstant(%q) failed", s)
		}
		if got.sec != want.Unix() || int64(got.nsec) != int64(want.Nanosecond()) {
			t.Fatalf("parseInstant(%q) = %d.%09d, want %d.%09d", s, got.sec, got.nsec, want.Unix(), want.Nanosecond())
		}
	}
	for _, s := range []string{"2026-02-29", "2026-13-01", "2026-00-10", "2026-01-32", "2026-1-1", "2026-01-01T25:00:00Z",
		"2026-01-01T10:60:00Z", "2026-01-01T10:00:61Z", "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00+1", "2026-01-01T10:00:00+16:00",
		"2026-01-01T10:00:00Zx", "2026-01-01X10:00:00", "2026-01-01T10", "infinityx", "12026-01-01", "2026-01-01T10:00:00+01:",
		"2026-01-01T10:00:00+01:00:00:00", ""} {
		if _, ok := parseInstant(s); ok {
			t.Errorf("parseInstant(%q) succeeded", s)
		}
	}
	for _, s := range []string{"2024-02-29", "0000-01-01", "9999-12-31T23:59:59.999999999999Z", "2026-01-01t10:00:00z", "2026-01-01T10:00:00+05:30:15", "Infinity", "-INFINITY"} {
		if _, ok := parseInstant(s); !ok {
			t.Errorf("parseInstant(%q) failed", s)
		}
	}
}
