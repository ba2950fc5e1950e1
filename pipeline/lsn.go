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
	return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))
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
