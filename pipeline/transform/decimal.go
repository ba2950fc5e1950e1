package transform

// class orders the special values of numbers and instants the way
// PostgreSQL does: -Infinity < finite < Infinity < NaN.
type class int8

const (
	classNegInf class = iota
	classFinite
	classPosInf
	classNaN
)

// decimal is an exact view of a decimal number's text, comparable without
// allocating: the value is 0.DDD... × 10^exp, where DDD are the digits of
// mant from index first on (the decimal point skipped). It refers to the
// text it was parsed from and copies nothing.
type decimal struct {
	class class
	neg   bool // finite, non-zero and negative
	zero  bool
	mant  string
	first int
	exp   int
}

// maxExponent bounds the exponent of a number in e-notation, so that the
// arithmetic on exp cannot overflow.
const maxExponent = 1_000_000_000

// parseDecimal parses a JSON number, a PostgreSQL numeric or float text
// ([+-]digits[.digits][e[+-]digits], also ".5" and "5."), or one of the
// special values NaN, Infinity, Inf (any case, the infinities signed or
// not). It reports false for anything else.
func parseDecimal(s string) (decimal, bool) {
	if s == "" {
		return decimal{}, false
	}
	i := 0
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		i = 1
	}
	switch rest := s[i:]; {
	case equalFoldASCII(rest, "infinity"), equalFoldASCII(rest, "inf"):
		if neg {
			return decimal{class: classNegInf}, true
		}
		return decimal{class: classPosInf}, true
	case i == 0 && equalFoldASCII(rest, "nan"):
		return decimal{class: classNaN}, true
	}
	start, point, digits := i, -1, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
			continue
		}
		if c == '.' && point < 0 {
			point = i - start
			continue
		}
		break
	}
	if digits == 0 {
		return decimal{}, false
	}
	mant := s[start:i]
	e := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return decimal{}, false
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return decimal{}, false
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' || e >= maxExponent {
				return decimal{}, false
			}
			e = e*10 + int(c-'0')
		}
		if eneg {
			e = -e
		}
	}
	if point < 0 {
		point = len(mant)
	}
	first := -1
	for j := 0; j < len(mant); j++ {
		if mant[j] != '0' && mant[j] != '.' {
			first = j
			break
		}
	}
	if first < 0 {
		return decimal{class: classFinite, zero: true}, true
	}
	exp := point - first
	if first > point {
		exp++ // the point sits between the integer part and first
	}
	return decimal{class: classFinite, neg: neg, mant: mant, first: first, exp: exp + e}, true
}

// cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a decimal) cmp(b decimal) int {
	if a.class != b.class {
		return cmpInt(int(a.class), int(b.class))
	}
	if a.class != classFinite {
		return 0
	}
	sa, sb := a.sign(), b.sign()
	if sa != sb {
		return cmpInt(sa, sb)
	}
	if sa == 0 {
		return 0
	}
	if sa < 0 {
		return -cmpMagnitude(a, b)
	}
	return cmpMagnitude(a, b)
}

func (a decimal) sign() int {
	switch {
	case a.zero:
		return 0
	case a.neg:
		return -1
	}
	return 1
}

// cmpMagnitude compares |a| and |b|, both finite and non-zero.
func cmpMagnitude(a, b decimal) int {
	if a.exp != b.exp {
		return cmpInt(a.exp, b.exp)
	}
	i, j := a.first, b.first
	for {
		if i < len(a.mant) && a.mant[i] == '.' {
			i++
		}
		if j < len(b.mant) && b.mant[j] == '.' {
			j++
		}
		if i >= len(a.mant) && j >= len(b.mant) {
			return 0
		}
		da, db := byte('0'), byte('0')
		if i < len(a.mant) {
			da = a.mant[i]
			i++
		}
		if j < len(b.mant) {
			db = b.mant[j]
			j++
		}
		if da != db {
			return cmpInt(int(da), int(db))
		}
	}
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equalFoldASCII reports whether s equals the lower-case ASCII word w,
// ignoring ASCII case.
func equalFoldASCII(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}
