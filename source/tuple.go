package source

import (
	"encoding/binary"
	"fmt"
)

// tupleCol is one column of a pgoutput TupleData: its kind ('n' null, 'u'
// unchanged TOAST, 't' text, 'b' binary) and its bytes, which alias the
// message buffer: convert them before the next receive.
type tupleCol struct {
	kind byte
	data []byte
}

// change is an Insert, Update or Delete message, parsed without copying.
type change struct {
	op      byte // 'I', 'U', 'D'
	relID   uint32
	oldKind byte // 0, 'K' (key columns only) or 'O' (the whole old row)
	old     []tupleCol
	new     []tupleCol
}

// parseChange parses an Insert, Update or Delete message (pgoutput
// protocol 1 layout, which protocol 2 keeps outside streamed transactions)
// into c, reusing c's slices. pglogrepl's parser allocates a copy of every
// column; this one allocates nothing in the steady state. The layouts:
//
//	I relid N new
//	U relid [K old | O old] N new
//	D relid (K old | O old)
//
// Anything else, and any byte after the last tuple, is an error.
func parseChange(msg []byte, c *change) error {
	if len(msg) < 6 {
		if len(msg) == 0 {
			return fmt.Errorf("empty change message")
		}
		return fmt.Errorf("%c message of %d bytes is too short", msg[0], len(msg))
	}
	c.op = msg[0]
	if c.op != 'I' && c.op != 'U' && c.op != 'D' {
		return fmt.Errorf("message type %q is not a row change", c.op)
	}
	c.relID = binary.BigEndian.Uint32(msg[1:5])
	c.oldKind = 0
	c.old, c.new = c.old[:0], c.new[:0]
	rest := msg[5:]
	marker := rest[0]
	var err error
	if (marker == 'K' || marker == 'O') && c.op != 'I' {
		c.oldKind = marker
		c.old, rest, err = parseTuple(rest[1:], c.old)
		if err != nil {
			return fmt.Errorf("%c message: old tuple: %w", c.op, err)
		}
		if c.op == 'D' {
			if len(rest) != 0 {
				return fmt.Errorf("D message: %d bytes after the old tuple", len(rest))
			}
			return nil
		}
		if len(rest) == 0 {
			return fmt.Errorf("U message has no new tuple")
		}
		marker = rest[0]
	}
	if marker != 'N' || c.op == 'D' {
		return fmt.Errorf("%c message: unexpected tuple marker %q", c.op, marker)
	}
	c.new, rest, err = parseTuple(rest[1:], c.new)
	if err != nil {
		return fmt.Errorf("%c message: new tuple: %w", c.op, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%c message: %d bytes after the new tuple", c.op, len(rest))
	}
	return nil
}

func parseTuple(b []byte, cols []tupleCol) ([]tupleCol, []byte, error) {
	if len(b) < 2 {
		return cols, b, fmt.Errorf("truncated column count")
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	for i := 0; i < n; i++ {
		if len(b) < 1 {
			return cols, b, fmt.Errorf("truncated at column %d of %d", i, n)
		}
		kind := b[0]
		b = b[1:]
		switch kind {
		case 'n', 'u':
			cols = append(cols, tupleCol{kind: kind})
		case 't', 'b':
			if len(b) < 4 {
				return cols, b, fmt.Errorf("truncated length of column %d", i)
			}
			l := int(binary.BigEndian.Uint32(b))
			b = b[4:]
			if l < 0 || l > len(b) {
				return cols, b, fmt.Errorf("column %d claims %d bytes, %d left", i, l, len(b))
			}
			cols = append(cols, tupleCol{kind: kind, data: b[:l:l]})
			b = b[l:]
		default:
			return cols, b, fmt.Errorf("column %d has unknown kind %q", i, kind)
		}
	}
	return cols, b, nil
}
