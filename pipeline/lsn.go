package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a position in the upstream change log. For PostgreSQL it is a WAL
// log sequence number; other sources may use any monotonically increasing
// 64-bit position. The zero LSN means "no position".
type LSN uint64

// String formats the LSN the way PostgreSQL does: two hexadecimal halves
// separated by a slash ("0/16B3748").
func (l LSN) String() string {
	return string(l.AppendText(make([]byte, 0, 17)))
}

// AppendText appends the LSN in PostgreSQL's form to b.
func (l LSN) AppendText(b []byte) []byte {
	b = appendUpperHex(b, uint64(l>>32))
	b = append(b, '/')
	return appendUpperHex(b, uint64(uint32(l)))
}

// appendUpperHex appends v in upper-case hexadecimal without leading zeros.
func appendUpperHex(b []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[v&0xF]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// ParseLSN parses the PostgreSQL text form "XXX/XXX".
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("parse LSN %q: want the form XXX/XXX", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parse LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parse LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}
