package transform

// span is an interval as PostgreSQL compares it: every month is 30 days,
// every day 24 hours (interval_cmp_value). days holds the whole days and
// usec the rest, 0 <= usec < a day, so that two spans compare without
// overflow for every interval PostgreSQL can hold.
type span struct {
	days int64
	usec int64
}

const usecPerDay = 86400 * 1000000

// parseInterval parses an ISO 8601 duration as PostgreSQL writes intervals
// with IntervalStyle iso_8601 - P[nY][nM][nW][nD][T[nH][nM][n[.frac]S]],
// each number optionally negative ("P-1Y2M", "PT-4H-5M-6.5S") - with an
// optional leading sign on the whole ("-P1D"). It allocates nothing.
func parseInterval(s string) (span, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') {
		return span{}, false
	}
	s = s[1:]
	var months, days, usec int64
	inTime, any := false, false
	for s != "" {
		if s[0] == 'T' || s[0] == 't' {
			if inTime || len(s) == 1 {
				return span{}, false
			}
			inTime = true
			s = s[1:]
			continue
		}
		n, frac, fracDigits, negNum, rest, ok := number(s)
		if !ok || rest == "" {
			return span{}, false
		}
		unit := rest[0] | 0x20 // lower case
		s = rest[1:]
		if frac != 0 && !(inTime && unit == 's') {
			return span{}, false // PostgreSQL writes fractions on seconds only
		}
		if n > 1e12 || n < -1e12 {
			return span{}, false
		}
		switch {
		case !inTime && unit == 'y':
			months += n * 12
		case !inTime && unit == 'm':
			months += n
		case !inTime && unit == 'w':
			days += n * 7
		case !inTime && unit == 'd':
			days += n
		case inTime && unit == 'h':
			usec += n * 3600e6
		case inTime && unit == 'm':
			usec += n * 60e6
		case inTime && unit == 's':
			f := frac
			for k := fracDigits; k < 6; k++ {
				f *= 10
			}
			if negNum {
				f = -f
			}
			usec += n*1e6 + f
		default:
			return span{}, false
		}
		any = true
	}
	if !any {
		return span{}, false
	}
	if neg {
		months, days, usec = -months, -days, -usec
	}
	return normSpan(months*30+days, usec), true
}

// normSpan folds usec into days so that 0 <= usec < a day.
func normSpan(days, usec int64) span {
	d := usec / usecPerDay
	usec -= d * usecPerDay
	if usec < 0 {
		usec += usecPerDay
		d--
	}
	return span{days: days + d, usec: usec}
}

// number reads an optionally signed integer and an optional fraction (at
// most six digits kept) from the front of s; neg reports a minus sign (so
// that -0.5 is told from 0.5).
func number(s string) (n, frac int64, fracDigits int, neg bool, rest string, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i-start >= 15 {
			return 0, 0, 0, false, "", false
		}
		n = n*10 + int64(s[i]-'0')
		i++
	}
	if i == start {
		return 0, 0, 0, false, "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-fs < 6 {
				frac = frac*10 + int64(s[i]-'0')
				fracDigits++
			}
			i++
		}
		if i == fs {
			return 0, 0, 0, false, "", false
		}
	}
	if neg {
		n = -n
	}
	return n, frac, fracDigits, neg, s[i:], true
}

func (a span) cmp(b span) int {
	if a.days != b.days {
		return cmpInt64(a.days, b.days)
	}
	return cmpInt64(a.usec, b.usec)
}

// clockTime is a time of day, time or timetz, as PostgreSQL compares them:
// a timetz by its UTC time, then by its offset.
type clockTime struct {
	utc    int64 // microseconds since midnight, minus the offset
	offset int32 // seconds east of UTC
}

// parseClock parses hh:mm[:ss[.frac]] with an optional offset (Z, ±hh,
// ±hh:mm, ±hhmm), as PostgreSQL writes time and timetz. 24:00:00 is
// allowed, as in PostgreSQL.
func parseClock(s string) (clockTime, bool) {
	h, m, sec, ok := clock(&s)
	if !ok || h > 24 || m > 59 || sec > 59 || (h == 24 && (m > 0 || sec > 0)) {
		return clockTime{}, false
	}
	usec := int64(h*3600+m*60+sec) * 1e6
	if s != "" && s[0] == '.' {
		s = s[1:]
		n := 0
		var f int64
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			if n < 6 {
				f = f*10 + int64(s[n]-'0')
			}
			n++
		}
		if n == 0 {
			return clockTime{}, false
		}
		for k := n; k < 6; k++ {
			f *= 10
		}
		if h == 24 && f > 0 {
			return clockTime{}, false
		}
		usec += f
		s = s[n:]
	}
	var off int
	switch {
	case s == "":
	case s == "Z" || s == "z":
	case s[0] == '+' || s[0] == '-':
		o, ok := offset(s[1:])
		if !ok {
			return clockTime{}, false
		}
		off = o
		if s[0] == '-' {
			off = -off
		}
	default:
		return clockTime{}, false
	}
	return clockTime{utc: usec - int64(off)*1e6, offset: int32(off)}, true
}

func (a clockTime) cmp(b clockTime) int {
	if a.utc != b.utc {
		return cmpInt64(a.utc, b.utc)
	}
	// PostgreSQL orders equal UTC times by zone: the one further west of
	// UTC (a smaller offset east) sorts after (timetz_cmp_internal).
	return cmpInt(int(b.offset), int(a.offset))
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
