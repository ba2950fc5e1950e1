package nats

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

func sampleEvents() []*pipeline.Event {
	ct := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	return []*pipeline.Event{
		{Op: pipeline.OpUpdate, Schema: "public", Table: "orders", CommitLSN: 0x16B3748, Seq: 3, XID: 1234, CommitTime: ct,
			Key:    pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: []byte("42")}},
			Before: pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: []byte("42")}, {Name: "status", Value: []byte(`"new"`)}},
			After: pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: []byte("42")}, {Name: "status", Value: []byte(`"pa\"id\u2028é"`)},
				{Name: "total", Kind: pipeline.KindNumber, Value: []byte(`"12.50"`)}, {Name: "doc", Kind: pipeline.KindJSON, Value: []byte(`{"a":[1,null]}`)},
				{Name: "ok", Kind: pipeline.KindBool, Value: []byte("true")}, {Name: "gone", Value: []byte("null")}},
			UnchangedToast: []string{"blob"}},
		{Op: pipeline.OpTruncate, Schema: "s", Table: "a", CommitLSN: 0xFFFFFFFF00000001, XID: 7, CommitTime: ct, Tables: []string{"s.a", "s.b"}},
		{Op: pipeline.OpInsert, Schema: "x y", Table: "t\"", CommitLSN: 1, After: pipeline.Row{}, CommitTime: ct},
		{Op: pipeline.OpDelete, Schema: "public", Table: "t", CommitLSN: 2, Key: pipeline.Row{{Name: "k", Value: []byte(`"a"`)}}, CommitTime: ct},
		{Op: pipeline.OpRead, Schema: "public", Table: "t", CommitLSN: 3, After: pipeline.Row{{Name: "k", Value: []byte(`"a"`)}}, CommitTime: ct,
			Snapshot: &pipeline.SnapshotInfo{ID: "snap-1", Chunk: 2}},
		{Op: pipeline.OpSnapshotCompleted, Schema: "public", Table: "t", CommitLSN: 4, CommitTime: ct,
			Snapshot: &pipeline.SnapshotInfo{ID: "snap-1", Chunk: 2, Last: true}},
	}
}

// TestDecodeRoundTrip: decoding an event's JSON gives an event that
// encodes to the same bytes, with the catalog's kinds.
func TestDecodeRoundTrip(t *testing.T) {
	cat := pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{
		{Name: "total", Kind: pipeline.KindNumber}, {Name: "status", Kind: pipeline.KindString}}}}
	for _, e := range sampleEvents() {
		got, err := DecodeEvent(e.Encoded(), cat)
		if err != nil {
			t.Fatalf("%s: %v", e.Encoded(), err)
		}
		if !bytes.Equal(got.Encoded(), e.Encoded()) {
			t.Fatalf("round trip:\n got %s\nwant %s", got.Encoded(), e.Encoded())
		}
		for i, c := range e.After {
			if got.After[i].Kind != c.Kind {
				t.Errorf("%s.%s: kind %d, want %d", e.QualifiedTable(), c.Name, got.After[i].Kind, c.Kind)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{}`, `{"id":"x","op":"insert"}`,
		`{"id":"0000000000000001:00000000","op":"insert","commit_lsn":"0/2"}`,
		`{"id":"0000000000000001:00000000","op":"nope","commit_lsn":"0/1"}`,
		`{"id":"0000000000000001:00000000","op":"insert","commit_lsn":"0/1","extra":1}`,
		`{"id":"0000000000000001:00000000","op":"insert","commit_lsn":"0/1"} {}`,
		`{"id":"0000000000000001:00000000","op":"truncate","commit_lsn":"0/1","key":{}}`,
		`{"id":"0000000000000001:00000000","op":"insert","commit_lsn":"0/1","tables":[]}`,
		`{"id":"0000000000000001:00000000","op":"insert","commit_lsn":"0/1","after":[1]}`,
		`{"id":"0000000000000001:00000000","op":"read","commit_lsn":"0/1","snapshot":{"id":"s"}}`,
		`{"id":"0000000000000001:00000000","op":"read","commit_lsn":"0/1","snapshot":{"id":"s","chunk":1,"last":true,"x":1}}`,
	} {
		if _, err := DecodeEvent([]byte(in), nil); err == nil {
			t.Errorf("DecodeEvent(%q) = nil error", in)
		}
	}
}

// FuzzDecodeEvent: whatever decodes re-encodes to JSON that decodes to
// the same encoding (the edge passes on exactly what it read).
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range sampleEvents() {
		f.Add(e.Encoded())
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := DecodeEvent(body, nil)
		if err != nil {
			return
		}
		again, err := DecodeEvent(e.Encoded(), nil)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, e.Encoded())
		}
		if !bytes.Equal(again.Encoded(), e.Encoded()) {
			t.Fatalf("not stable:\n%s\n%s", e.Encoded(), again.Encoded())
		}
	})
}
