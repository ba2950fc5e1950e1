package source

import (
	"slices"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func TestPGSnapshotVisible(t *testing.T) {
	s, err := parsePGSnapshot("100:110:104,102")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "100:110:102,104" {
		t.Fatalf("String() = %q", got)
	}
	for xid, want := range map[uint32]bool{1: true, 99: true, 100: true, 101: true, 102: false, 103: true, 104: false, 109: true, 110: false, 200: false} {
		if got := s.visible(xid); got != want {
			t.Errorf("visible(%d) = %v, want %v", xid, got, want)
		}
	}
	if got := s.invisible([]uint32{99, 102, 103, 110}); !slices.Equal(got, []uint32{102, 110}) {
		t.Errorf("invisible = %v", got)
	}
	// Across an epoch: xmax is 2^32+5; 32-bit xid 3 is 2^32+3, visible;
	// 0xFFFFFFF0 is in the epoch before, long finished.
	e, err := parsePGSnapshot("4294967297:4294967301:4294967299")
	if err != nil {
		t.Fatal(err)
	}
	if e.widen(3) != 4294967299 || e.visible(3) {
		t.Errorf("widen(3) = %d, visible %v", e.widen(3), e.visible(3))
	}
	if e.widen(0xFFFFFFF0) != 0xFFFFFFF0 || !e.visible(0xFFFFFFF0) {
		t.Errorf("widen(0xFFFFFFF0) = %d", e.widen(0xFFFFFFF0))
	}
	if !e.visible(2) || e.visible(6) {
		t.Error("2 is below xmin, 6 above xmax")
	}
	for _, bad := range []string{"", "1:2", "a:2:", "2:1:", "1:5:7", "1:5:x", "1:2:3:4"} {
		if _, err := parsePGSnapshot(bad); err == nil || !strings.Contains(err.Error(), "pg_snapshot") {
			t.Errorf("parsePGSnapshot(%q): %v", bad, err)
		}
	}
}

func FuzzParsePGSnapshot(f *testing.F) {
	for _, s := range []string{"100:110:104,102", "1:1:", "4294967297:4294967301:4294967299", "5:3:", "1:9:,"} {
		f.Add(s, uint32(3))
	}
	f.Fuzz(func(t *testing.T, text string, xid uint32) {
		s, err := parsePGSnapshot(text)
		if err != nil {
			return
		}
		again, err := parsePGSnapshot(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("%q: String %q does not parse back: %v", text, s.String(), err)
		}
		w := s.widen(xid)
		if uint32(w) != xid {
			t.Fatalf("widen(%d) = %d: not the same 32-bit id", xid, w)
		}
		if w < s.xmin && !s.visible(xid) {
			t.Fatalf("%d below xmin not visible", xid)
		}
	})
}

// chunkFor registers a one-row chunk of public.t keyed by id.
func chunkFor(c *snapCoord, job string) *pendingChunk {
	pc := &pendingChunk{job: &snapJob{id: job, schema: "public", table: "t"}, n: 1, run: "r", table: "public.t", keyCols: []string{"id"}}
	c.register(pc)
	row := pipeline.Row{{Name: "id", Value: []byte("5")}, {Name: "v", Value: []byte("0")}}
	c.fill(pc, &chunkRows{rows: []readRow{{after: row}}, keyIdx: []int{0}}, false)
	return pc
}

func watermarkMsg(kind, job string) []byte {
	return []byte(`{"kind":"` + kind + `","slot":"s","job":"` + job + `","chunk":1,"run":"r"}`)
}

// TestSnapCoordMarksFromRegistration: a change decoded after a chunk was
// registered and before its low watermark drops the read (its transaction
// may be invisible to the chunk's read although it commits first); a
// transaction decoded before registration is one the read must see.
func TestSnapCoordMarksFromRegistration(t *testing.T) {
	c := newSnapCoord("s")
	c.onBegin(41)
	pc := chunkFor(c, "j")
	if !slices.Equal(pc.decoded, []uint32{41}) {
		t.Fatalf("decoded before registration: %v", pc.decoded)
	}
	if !c.active() {
		t.Fatal("a registered chunk is not active")
	}
	c.onBegin(42)
	c.onChange(&pipeline.Event{Op: pipeline.OpUpdate, Schema: "public", Table: "t", XID: 42,
		After: pipeline.Row{{Name: "id", Value: []byte("5")}, {Name: "v", Value: []byte("1")}}})
	c.onCommit(1)
	for _, kind := range []string{wmLow} {
		if evs, _ := c.onMessage(watermarkMsg(kind, "j")); len(evs) != 0 {
			t.Fatalf("%s watermark emitted %d events", kind, len(evs))
		}
	}
	evs, err := c.onMessage(watermarkMsg(wmHigh, "j"))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 || pc.dropped != 1 {
		t.Fatalf("the read of a key changed after registration: %d events, %d dropped", len(evs), pc.dropped)
	}
	// Without the change, the read is emitted.
	pc2 := chunkFor(c, "k")
	c.onMessage(watermarkMsg(wmLow, "k"))
	if evs, _ := c.onMessage(watermarkMsg(wmHigh, "k")); len(evs) != 1 || pc2.dropped != 0 {
		t.Fatalf("an unchanged key: %d events", len(evs))
	}
	// The ring keeps the newest recentXids.
	for i := range recentXids + 10 {
		c.onBegin(uint32(1000 + i))
	}
	pc3 := chunkFor(c, "l")
	if len(pc3.decoded) != recentXids || pc3.decoded[0] != 1010 || pc3.decoded[recentXids-1] != uint32(1000+recentXids+9) {
		t.Fatalf("decoded: %d entries from %d", len(pc3.decoded), pc3.decoded[0])
	}
}

// BenchmarkOnBegin is the reader's cost per decoded transaction of keeping
// the ring of recent transaction ids.
func BenchmarkOnBegin(b *testing.B) {
	c := newSnapCoord("s")
	for i := range b.N {
		c.onBegin(uint32(i))
	}
}
