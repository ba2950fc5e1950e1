package pipeline

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkEncoded: the JSON of a narrow insert (four columns, as in the
// snapshot and throughput benchmarks), made once per event. Its
// allocs/op says whether the encoding buffer was sized right.
//
//	go test -run X -bench Encoded -benchmem ./pipeline
func BenchmarkEncoded(b *testing.B) {
	after := Row{
		{Name: "id", Kind: KindNumber, Value: []byte("123456")},
		{Name: "s", Value: []byte(`"c4ca4238a0b923820dcc509a6f75849b"`)},
		{Name: "n", Kind: KindNumber, Value: []byte("456")},
		{Name: "at", Value: []byte(`"2026-12-03T12:53:52.123456Z"`)},
	}
	commit := time.Date(2026, 12, 3, 12, 53, 52, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		e := &Event{Op: OpInsert, Schema: "public", Table: "orders", CommitLSN: 0x2F80218, Seq: 346, XID: 877,
			CommitTime: commit, Key: after[:1], After: after}
		if len(e.Encoded()) == 0 {
			b.Fatal("empty encoding")
		}
	}
}

// TestEncodedOnce: the encoding of an event of each kind is made with one
// allocation (its buffer is sized for it) and is what AppendJSON writes.
func TestEncodedOnce(t *testing.T) {
	row := Row{
		{Name: "id", Kind: KindNumber, Value: []byte("9223372036854775807")},
		{Name: "note", Value: []byte(`"` + strings.Repeat("x", 300) + `"`)},
		{Name: "at", Value: []byte(`"2026-12-03T12:53:52.123456Z"`)},
	}
	commit := time.Date(2026, 12, 3, 12, 53, 52, 123456000, time.UTC)
	for name, mk := range map[string]func() *Event{
		"insert": func() *Event {
			return &Event{Op: OpInsert, Schema: "public", Table: "orders", CommitLSN: 1<<63 + 5, Seq: 1 << 31, XID: 1<<32 - 1, CommitTime: commit, Key: row[:1], After: row}
		},
		"update": func() *Event {
			return &Event{Op: OpUpdate, Schema: "public", Table: "orders", CommitLSN: 1<<63 + 5, XID: 1<<32 - 1, CommitTime: commit, Key: row[:1], Before: row, After: row,
				UnchangedToast: []string{"note", "body"}}
		},
		"read": func() *Event {
			return &Event{Op: OpRead, Schema: "public", Table: "orders", CommitLSN: 1<<63 + 5, XID: 1<<32 - 1, CommitTime: commit, Key: row[:1], After: row,
				Snapshot: &SnapshotInfo{ID: "initial:pgcdc_slot_name:public.orders", Chunk: 1 << 30, Last: true}}
		},
		"truncate": func() *Event {
			return &Event{Op: OpTruncate, Schema: "public", Table: "orders", CommitLSN: 1<<63 + 5, XID: 1<<32 - 1, CommitTime: commit, Tables: []string{"public.orders", "public.users"}}
		},
	} {
		if got, want := string(mk().Encoded()), string(mk().AppendJSON(nil)); got != want {
			t.Errorf("%s: Encoded differs from AppendJSON:\n%s\n%s", name, got, want)
		}
		e := mk()
		if n := testing.AllocsPerRun(100, func() { e.encoded = nil; e.Encoded() }); n != 1 {
			t.Errorf("%s: %v allocations, want 1", name, n)
		}
	}
}
