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
// column; this one allocates nothing in the steady state.
func parseChange(msg []byte, c *change) error {
	if len(msg) < 6 {
		return fmt.Errorf("%c message of %d bytes is too short", msg[0], len(msg))
	}
	c.op = msg[0]
	c.relID = binary.BigEndian.Uint32(msg[1:5])
	c.oldKind = 0
	c.old, c.new = c.old[:0], c.new[:0]
	rest := msg[5:]
	var err error
	for len(rest) > 0 {
		kind := rest[0]
		switch {
		case kind == 'N':
			c.new, rest, err = parseTuple(rest[1:], c.new)
			if err != nil {
				return fmt.Errorf("%c message: new tuple: %w", c.op, err)
			}
			if len(rest) != 0 {
				return fmt.Errorf("%c message: %d bytes after the new tuple", c.op, len(rest))
			}
			return nil
		case (kind == 'K' || kind == 'O') && c.oldKind == 0:
			c.oldKind = kind
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
		default:
			return fmt.Errorf("%c message: unexpected tuple marker %q", c.op, kind)
		}
	}
	return fmt.Errorf("%c message has no tuple", c.op)
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
