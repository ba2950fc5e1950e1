package transform

import (
	"strconv"

	"github.com/pgcdc/pgcdc/pipeline"
)

// AppendEqualKey appends to dst a key for text, a value of a column of kind
// k as a condition compares it (a literal of a condition, or the text of a
// column's value: see AppendColumnKey), such that two values are equal
// under eq exactly when their keys are equal. An eq or in condition on a
// column of kind k therefore matches a non-null value exactly when the
// value's key equals the key of one of the condition's Values, which lets
// a caller index many conditions by their keys and find the ones a value
// matches with one lookup instead of testing each.
//
// Values that parse as k (numbers, instants, intervals, times of day) get
// a canonical key ("7", "7.0" and "0.7e1" share one); other values, and
// every value of the text kinds, are keyed by their text. The two kinds of
// key never collide.
func AppendEqualKey(dst []byte, k pipeline.Kind, text string) []byte {
	switch k {
	case pipeline.KindNumber:
		if d, ok := parseDecimal(text); ok {
			return d.appendKey(dst)
		}
	case pipeline.KindTime:
		if t, ok := parseInstant(text); ok {
			dst = append(dst, 'i')
			switch t.class {
			case classNegInf:
				return append(dst, '-')
			case classPosInf:
				return append(dst, '+')
			}
			dst = strconv.AppendInt(dst, t.sec, 10)
			dst = append(dst, '.')
			return strconv.AppendInt(dst, int64(t.nsec), 10)
		}
	case pipeline.KindInterval:
		if s, ok := parseInterval(text); ok {
			dst = append(dst, 's')
			dst = strconv.AppendInt(dst, s.days, 10)
			dst = append(dst, '.')
			return strconv.AppendInt(dst, s.usec, 10)
		}
	case pipeline.KindClock:
		if c, ok := parseClock(text); ok {
			dst = append(dst, 'c')
			dst = strconv.AppendInt(dst, c.utc, 10)
			dst = append(dst, ',')
			return strconv.AppendInt(dst, int64(c.offset), 10)
		}
	}
	dst = append(dst, 't')
	return append(dst, text...)
}

// AppendColumnKey appends AppendEqualKey of the column's value, as eq
// compares it, and reports false (appending nothing) for SQL NULL, which
// no eq condition matches.
func AppendColumnKey(dst []byte, col pipeline.Column) ([]byte, bool) {
	if col.IsNull() {
		return dst, false
	}
	return AppendEqualKey(dst, col.Kind, textOf(col.Value)), true
}

// appendKey appends the canonical key of a number: its class, or its sign,
// significant digits (without leading or trailing zeros) and exponent.
func (d decimal) appendKey(dst []byte) []byte {
	dst = append(dst, 'n')
	switch {
	case d.class == classNaN:
		return append(dst, "NaN"...)
	case d.class == classPosInf:
		return append(dst, "+Inf"...)
	case d.class == classNegInf:
		return append(dst, "-Inf"...)
	case d.zero:
		return append(dst, '0')
	case d.neg:
		dst = append(dst, '-')
	default:
		dst = append(dst, '+')
	}
	start := len(dst)
	for i := d.first; i < len(d.mant); i++ {
		if d.mant[i] != '.' {
			dst = append(dst, d.mant[i])
		}
	}
	for len(dst) > start+1 && dst[len(dst)-1] == '0' {
		dst = dst[:len(dst)-1]
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(d.exp), 10)
}
