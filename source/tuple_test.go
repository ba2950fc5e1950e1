package source

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
)

func TestParseChangeErrors(t *testing.T) {
	tuple := func(cols ...string) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(len(cols)))
		for _, c := range cols {
			switch c {
			case "n", "u":
				b = append(b, c[0])
			default:
				b = append(b, 't')
				b = binary.BigEndian.AppendUint32(b, uint32(len(c)))
				b = append(b, c...)
			}
		}
		return b
	}
	msg := func(op byte, parts ...[]byte) []byte {
		b := append([]byte{op}, 0, 0, 0, 42)
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	var c change
	good := msg('U', []byte{'K'}, tuple("1", "n"), []byte{'N'}, tuple("2", "u"))
	if err := parseChange(good, &c); err != nil {
		t.Fatal(err)
	}
	if c.relID != 42 || c.oldKind != 'K' || len(c.old) != 2 || string(c.new[0].data) != "2" || c.new[1].kind != 'u' {
		t.Fatalf("parsed %+v", c)
	}
	for name, bad := range map[string][]byte{
		"short":          {'I', 0, 0},
		"no tuple":       msg('I'),
		"bad marker":     msg('I', []byte{'X'}),
		"truncated len":  msg('I', []byte{'N', 0, 1, 't', 0, 0}),
		"length too big": msg('I', []byte{'N', 0, 1, 't', 0, 0, 0, 9, 'a'}),
		"bad kind":       msg('I', []byte{'N', 0, 1, 'z'}),
		"trailing bytes": append(msg('I', []byte{'N'}, tuple("1")), 0),
	} {
		if err := parseChange(bad, &c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// referenceChange parses msg with pglogrepl, the reference: it accepts
// exactly the messages pglogrepl accepts, after three checks pglogrepl
// leaves out and the protocol requires (a column kind is one of n, u, t,
// b; an old tuple of an update is followed by the N marker; nothing
// follows the last tuple), and one limit it has that the protocol does not
// (it refuses an insert of zero columns, which PostgreSQL sends for a
// table without columns). pglogrepl panics on truncated input; that is a
// rejection.
func referenceChange(msg []byte) (ref change, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	if len(msg) == 0 || strings.IndexByte("IUD", msg[0]) < 0 || claimsTooMuch(msg) {
		return ref, false // other messages: pglogrepl may allocate what they claim
	}
	if len(msg) == 8 && msg[0] == 'I' && msg[5] == 'N' && msg[6] == 0 && msg[7] == 0 {
		return change{op: 'I', relID: binary.BigEndian.Uint32(msg[1:5])}, true
	}
	m, err := pglogrepl.Parse(msg)
	if err != nil {
		return ref, false
	}
	var old, new *pglogrepl.TupleData
	switch m := m.(type) {
	case *pglogrepl.InsertMessage:
		ref.relID, new = m.RelationID, m.Tuple
	case *pglogrepl.UpdateMessage:
		ref.relID, ref.oldKind, old, new = m.RelationID, m.OldTupleType, m.OldTuple, m.NewTuple
	case *pglogrepl.DeleteMessage:
		ref.relID, ref.oldKind, old = m.RelationID, m.OldTupleType, m.OldTuple
	default:
		return ref, false
	}
	ref.op = msg[0]
	size := 5 // type and relation id
	tuple := func(td *pglogrepl.TupleData) ([]tupleCol, bool) {
		size += 1 + 2 // marker, column count
		var cols []tupleCol
		for _, c := range td.Columns {
			size++
			switch c.DataType {
			case 'n', 'u':
				cols = append(cols, tupleCol{kind: c.DataType})
			case 't', 'b':
				size += 4 + len(c.Data)
				cols = append(cols, tupleCol{kind: c.DataType, data: c.Data})
			default:
				return nil, false
			}
		}
		return cols, true
	}
	if old != nil {
		if ref.old, ok = tuple(old); !ok {
			return ref, false
		}
		if new != nil && msg[size] != 'N' {
			return ref, false
		}
	}
	if new != nil {
		if ref.new, ok = tuple(new); !ok {
			return ref, false
		}
	}
	return ref, size == len(msg)
}

// claimsTooMuch reports whether a text or binary column, walked the way
// pglogrepl walks the message, claims more bytes than the message has.
// pglogrepl allocates the claimed length before it copies (and panics), so
// the fuzzer must not hand it a 4 GB claim; it would reject the message
// anyway.
func claimsTooMuch(msg []byte) bool {
	pos := 6 // type, relation id, first marker
	tuples := 1
	if len(msg) > 5 && msg[0] == 'U' && (msg[5] == 'K' || msg[5] == 'O') {
		tuples = 2
	}
	for range tuples {
		if pos+2 > len(msg) {
			return false
		}
		n := int(binary.BigEndian.Uint16(msg[pos:]))
		pos += 2
		for range n {
			if pos >= len(msg) {
				return false
			}
			kind := msg[pos]
			pos++
			if kind != 't' && kind != 'b' {
				continue
			}
			if pos+4 > len(msg) {
				return false
			}
			l := int(binary.BigEndian.Uint32(msg[pos:]))
			pos += 4
			if l > len(msg)-pos {
				return true
			}
			pos += l
		}
		pos++ // the next marker
	}
	return false
}

func sameCols(a, b []tupleCol) bool {
	return slices.EqualFunc(a, b, func(x, y tupleCol) bool { return x.kind == y.kind && bytes.Equal(x.data, y.data) })
}

// FuzzParseChange checks parseChange against pglogrepl's parser: the same
// relation, tuple kinds, columns, kinds and bytes, or both reject.
func FuzzParseChange(f *testing.F) {
	f.Add([]byte{'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0, 0, 0, 1, 'x'})
	f.Add([]byte{'I', 0, 0, 0, 1, 'N', 0, 0})
	f.Add([]byte{'U', 0, 0, 0, 1, 'O', 0, 1, 'n', 'N', 0, 1, 'u'})
	f.Add([]byte{'U', 0, 0, 0, 1, 'K', 0, 2, 'b', 0, 0, 0, 0, 'n', 'N', 0, 1, 't', 0, 0, 0, 2, 'h', 'i'})
	f.Add([]byte{'U', 0, 0, 0, 1, 'N', 0, 1, 't', 0, 0, 0, 0})
	f.Add([]byte{'D', 0, 0, 0, 7, 'K', 0, 1, 't', 0, 0, 0, 1, '1'})
	f.Add([]byte{'D', 0, 0, 0, 7, 'O', 0, 2, 'n', 't', 0, 0, 0, 1, '1'})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got change
		err := parseChange(b, &got)
		want, ok := referenceChange(b)
		switch {
		case err != nil && ok:
			t.Fatalf("parseChange(%x) rejects what the reference accepts (%+v): %v", b, want, err)
		case err == nil && !ok:
			t.Fatalf("parseChange(%x) accepts what the reference rejects: %+v", b, got)
		case err != nil:
			return
		}
		if got.op != want.op || got.relID != want.relID || got.oldKind != want.oldKind ||
			!sameCols(got.old, want.old) || !sameCols(got.new, want.new) {
			t.Fatalf("parseChange(%x) = %+v, reference %+v", b, got, want)
		}
	})
}
