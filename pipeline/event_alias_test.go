package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestEncodedAliasesLargeRows: a large event's rows point into its
// encoding after Encoded (its values are held once), and the encoding is
// byte for byte what AppendJSON writes.
func TestEncodedAliasesLargeRows(t *testing.T) {
	big := `"` + strings.Repeat("é\\\"x", 20000) + `"`
	mk := func() *Event {
		return &Event{Op: OpUpdate, Schema: "pub\"lic", Table: "t", CommitLSN: 10, Seq: 1,
			Key:    Row{{Name: "id", Kind: KindNumber, Value: []byte("7")}},
			Before: Row{{Name: "id", Kind: KindNumber, Value: []byte("7")}, {Name: "n\"ote", Value: []byte(big)}},
			After:  Row{{Name: "id", Kind: KindNumber, Value: []byte("7")}, {Name: "n\"ote", Value: []byte(big)}, {Name: "z", Value: []byte("null")}}}
	}
	e := mk()
	want := string(mk().AppendJSON(nil))
	enc := e.Encoded()
	if string(enc) != want {
		t.Fatal("the aliased encoding differs from AppendJSON")
	}
	lo, hi := uintptr(unsafe.Pointer(&enc[0])), uintptr(unsafe.Pointer(&enc[len(enc)-1]))
	for _, r := range []Row{e.Key, e.Before, e.After} {
		for _, c := range r {
			p := uintptr(unsafe.Pointer(&c.Value[0]))
			if p < lo || p > hi {
				t.Fatalf("column %s does not point into the encoding", c.Name)
			}
			if got, ok := mk().After.Get(c.Name); ok && string(got.Value) != string(c.Value) {
				t.Fatalf("column %s changed: %.40q", c.Name, c.Value)
			}
		}
	}
	if string(e.AppendJSON(nil)) != want {
		t.Fatal("re-encoding the aliased rows changed the JSON")
	}
	// A small event keeps its rows.
	s := &Event{Op: OpInsert, Schema: "public", Table: "t", After: Row{{Name: "id", Value: []byte("1")}}}
	v := &s.After[0].Value[0]
	s.Encoded()
	if &s.After[0].Value[0] != v {
		t.Fatal("a small event's rows were moved")
	}
}

// FuzzLSNText: the hand-written LSN formatting agrees with fmt's, and
// ParseLSN reads it back.
func FuzzLSNText(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(0x16B374D848))
	f.Add(^uint64(0))
	f.Fuzz(func(t *testing.T, v uint64) {
		l := LSN(v)
		want := fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))
		if got := l.String(); got != want {
			t.Fatalf("LSN(%#x).String() = %q, want %q", v, got, want)
		}
		if back, err := ParseLSN(l.String()); err != nil || back != l {
			t.Fatalf("ParseLSN(%q) = %v, %v", l.String(), back, err)
		}
	})
}
