package source

import (
	"encoding/binary"
	"testing"
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

func FuzzParseChange(f *testing.F) {
	f.Add([]byte{'I', 0, 0, 0, 1, 'N', 0, 1, 't', 0, 0, 0, 1, 'x'})
	f.Add([]byte{'U', 0, 0, 0, 1, 'O', 0, 1, 'n', 'N', 0, 1, 'u'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		var c change
		_ = parseChange(b, &c) // must not panic
	})
}
