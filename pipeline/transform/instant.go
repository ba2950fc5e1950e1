package transform

// instant is a point in time as seconds and nanoseconds since the Unix
// epoch, or one of PostgreSQL's infinite timestamps.
type instant struct {
	class class // classNegInf, classFinite or classPosInf
	sec   int64
	nsec  int32
}

// parseInstant parses a date (2006-01-02) or a timestamp
// (2006-01-02T15:04[:05[.frac]][Z|±hh[[:]mm[[:]ss]]], T in either case or a
// space), or infinity / -infinity (any case). A value without an offset is
// taken as UTC. It allocates nothing and reports false for anything else,
// including years outside 0000-9999.
func parseInstant(s string) (instant, bool) {
	switch {
	case equalFoldASCII(s, "infinity"), equalFoldASCII(s, "+infinity"):
		return instant{class: classPosInf}, true
	case equalFoldASCII(s, "-infinity"):
		return instant{class: classNegInf}, true
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return instant{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return instant{}, false
	}
	sec := daysFromCivil(year, month, day) * 86400
	s = s[10:]
	if s == "" {
		return instant{class: classFinite, sec: sec}, true
	}
	if s[0] != 'T' && s[0] != 't' && s[0] != ' ' {
		return instant{}, false
	}
	s = s[1:]
	h, m, sc, ok := clock(&s)
	if !ok || h > 23 || m > 59 || sc > 59 {
		return instant{}, false
	}
	sec += int64(h*3600 + m*60 + sc)
	var nsec int32
	if s != "" && s[0] == '.' {
		s = s[1:]
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			if n < 9 {
				nsec = nsec*10 + int32(s[n]-'0')
			}
			n++
		}
		if n == 0 {
			return instant{}, false
		}
		for k := n; k < 9; k++ {
			nsec *= 10
		}
		s = s[n:]
	}
	if s == "" {
		return instant{class: classFinite, sec: sec, nsec: nsec}, true
	}
	switch s[0] {
	case 'Z', 'z':
		if len(s) != 1 {
			return instant{}, false
		}
	case '+', '-':
		off, ok := offset(s[1:])
		if !ok {
			return instant{}, false
		}
		if s[0] == '+' {
			off = -off
		}
		sec += int64(off)
	default:
		return instant{}, false
	}
	return instant{class: classFinite, sec: sec, nsec: nsec}, true
}

// clock parses hh:mm[:ss] from the front of *s and advances *s past it.
func clock(s *string) (h, m, sec int, ok bool) {
	t := *s
	if len(t) < 5 || t[2] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := digits(t[0:2])
	m, ok2 := digits(t[3:5])
	if !ok1 || !ok2 {
		return 0, 0, 0, false
	}
	t = t[5:]
	if len(t) >= 3 && t[0] == ':' {
		var ok3 bool
		if sec, ok3 = digits(t[1:3]); !ok3 {
			return 0, 0, 0, false
		}
		t = t[3:]
	}
	*s = t
	return h, m, sec, true
}

// offset parses hh, hhmm, hh:mm, hhmmss or hh:mm:ss into seconds.
func offset(s string) (int, bool) {
	var parts [3]int
	for n := 0; ; n++ {
		if n == len(parts) || len(s) < 2 {
			return 0, false
		}
		v, ok := digits(s[:2])
		if !ok {
			return 0, false
		}
		parts[n] = v
		if s = s[2:]; s == "" {
			break
		}
		if s[0] == ':' {
			s = s[1:]
		}
	}
	if parts[0] > 15 || parts[1] > 59 || parts[2] > 59 {
		return 0, false
	}
	return parts[0]*3600 + parts[1]*60 + parts[2], true
}

// digits parses a short run of ASCII digits.
func digits(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// cmp returns -1, 0 or +1 as a is before, at or after b.
func (a instant) cmp(b instant) int {
	if a.class != b.class {
		return cmpInt(int(a.class), int(b.class))
	}
	if a.class != classFinite {
		return 0
	}
	if a.sec != b.sec {
		if a.sec < b.sec {
			return -1
		}
		return 1
	}
	return cmpInt(int(a.nsec), int(b.nsec))
}
