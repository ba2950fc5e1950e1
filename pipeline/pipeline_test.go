package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func batch(end LSN, tables ...string) *Batch {
	evs := make([]*Event, len(tables))
	for i, t := range tables {
		evs[i] = &Event{Op: OpInsert, Schema: "public", Table: t, CommitLSN: end - 1, Seq: uint32(i)}
	}
	b := NewBatch(evs, end, nil)
	b.Bytes = 100
	return b
}

func TestTrackerConfirmsOnlyContiguousPrefix(t *testing.T) {
	tr := newTracker(0, time.Second)
	ctx := context.Background()
	var es []*entry
	for _, end := range []LSN{10, 0, 20, 30} { // 0: first half of a large transaction
		e, _, err := tr.reserve(ctx, 1, end, 1)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	tr.ack(es[3])
	tr.ack(es[2])
	if got := tr.Confirmed(); got != 0 {
		t.Fatalf("confirmed %v past unfinished batches", got)
	}
	tr.ack(es[0])
	if got := tr.Confirmed(); got != 10 {
		t.Fatalf("confirmed %v, want 10", got)
	}
	if tr.Idle() {
		t.Fatal("idle with a batch in flight")
	}
	tr.ack(es[1])
	if got := tr.Confirmed(); got != 30 || !tr.Idle() {
		t.Fatalf("confirmed %v idle %v, want 30 and idle", got, tr.Idle())
	}
}

func TestTrackerByteBudgetBlocks(t *testing.T) {
	tr := newTracker(150, time.Second)
	ctx := context.Background()
	e1, _, _ := tr.reserve(ctx, 100, 1, 1)
	got := make(chan bool)
	go func() {
		_, waited, err := tr.reserve(ctx, 100, 2, 1)
		got <- waited && err == nil
	}()
	select {
	case <-got:
		t.Fatal("second batch admitted over the byte budget")
	case <-time.After(50 * time.Millisecond): // proving a negative: nothing to wait on
	}
	tr.ack(e1)
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("second reserve did not report waiting")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second batch not admitted after the first was acknowledged")
	}
	// A cancelled context releases a waiting source.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := tr.reserve(cctx, 1000, 3, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("reserve with cancelled ctx: %v", err)
	}
}

// scriptSource writes its batches, then waits for cancellation and drains.
type scriptSource struct {
	batches []*Batch
	final   chan LSN
}

func (s *scriptSource) Run(ctx context.Context, w Writer, p Progress) error {
	for _, b := range s.batches {
		if err := w.Write(ctx, b); err != nil {
			return nil
		}
	}
	<-ctx.Done()
	p.Drain(context.Background())
	s.final <- p.Confirmed()
	return nil
}

// holdSink records what it gets and acknowledges when told (or at once).
type holdSink struct {
	name    string
	auto    bool
	fail    error
	mu      sync.Mutex
	got     []*Batch
	arrived chan *Batch
}

func (s *holdSink) Name() string { return s.name }
func (s *holdSink) Run(ctx context.Context, in <-chan *Batch) error {
	for b := range in {
		if s.fail != nil {
			return s.fail
		}
		s.mu.Lock()
		s.got = append(s.got, b)
		s.mu.Unlock()
		if s.auto {
			b.Ack()
		}
		if s.arrived != nil {
			s.arrived <- b
		}
	}
	return nil
}

func TestFanOutPerSinkFilterAndDrain(t *testing.T) {
	src := &scriptSource{batches: []*Batch{batch(10, "orders", "users"), batch(20, "users"), batch(30, "orders")}, final: make(chan LSN, 1)}
	all := &holdSink{name: "all", arrived: make(chan *Batch, 10)}
	onlyOrders := &holdSink{name: "orders", auto: true}
	ordersOnly := TransformFunc(func(e *Event) *Event {
		if e.Table == "orders" {
			return e
		}
		return nil
	})
	p := New(src, nil, []Output{{Sink: all}, {Sink: onlyOrders, Transform: ordersOnly}}, Options{DrainTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var held []*Batch
	for range 3 {
		select {
		case b := <-all.arrived:
			held = append(held, b)
		case <-time.After(5 * time.Second):
			t.Fatal("sink did not receive the batches")
		}
	}
	if p.Progress().Confirmed() != 0 {
		t.Fatal("confirmed before the unfiltered sink acknowledged")
	}
	// Shut down while "all" still holds everything: the drain waits for it.
	cancel()
	for _, b := range held {
		b.Ack()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := <-src.final; got != 30 {
		t.Fatalf("final confirmed %v, want 30", got)
	}
	// The filtering sink got only orders, and the users-only batch not at all.
	var tables []string
	for _, b := range onlyOrders.got {
		for _, e := range b.Events {
			tables = append(tables, e.Table)
		}
	}
	if strings.Join(tables, ",") != "orders,orders" || len(onlyOrders.got) != 2 {
		t.Fatalf("filtered sink got %v in %d batches", tables, len(onlyOrders.got))
	}
	// Events were encoded once, before fan-out, and both sinks share them.
	if all.got[0].Events[0] != onlyOrders.got[0].Events[0] || all.got[0].Events[0].encoded == nil {
		t.Fatal("events not shared and pre-encoded across sinks")
	}
}

func TestSinkFailureStopsPipelineQuickly(t *testing.T) {
	src := &scriptSource{batches: []*Batch{batch(10, "t")}, final: make(chan LSN, 1)}
	bad := &holdSink{name: "bad", fail: errors.New("receiver rejected it")}
	good := &holdSink{name: "good", auto: true}
	p := New(src, nil, []Output{{Sink: good}, {Sink: bad}}, Options{DrainTimeout: time.Minute})
	start := time.Now()
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `sink "bad": receiver rejected it`) {
		t.Fatalf("Run = %v, want the sink's error", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("a failed sink made shutdown wait %s for the drain timeout", time.Since(start))
	}
	if got := <-src.final; got != 0 {
		t.Fatalf("confirmed %v although a sink failed on it", got)
	}
}

func TestEventJSONAndIDs(t *testing.T) {
	e := &Event{Op: OpUpdate, Schema: "public", Table: "or\"ders", CommitLSN: 0x16B3748, Seq: 3, XID: 1234,
		CommitTime:     time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC),
		Key:            Row{{Name: "id", Kind: KindNumber, Value: []byte("42")}},
		After:          Row{{Name: "id", Kind: KindNumber, Value: []byte("42")}, {Name: "s", Value: []byte(`"paid"`)}},
		UnchangedToast: []string{"body"}}
	want := `{"id":"00000000016B3748:00000003","op":"update","schema":"public","table":"or\"ders","commit_lsn":"0/16B3748","xid":1234,"commit_time":"2026-11-23T10:00:00.123456Z","key":{"id":42},"before":null,"after":{"id":42,"s":"paid"},"unchanged_toast":["body"]}`
	if got := string(e.Encoded()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	lsn, seq, err := ParseID(e.ID())
	if err != nil || lsn != e.CommitLSN || seq != 3 {
		t.Fatalf("ParseID(%s) = %v %v %v", e.ID(), lsn, seq, err)
	}
	for _, bad := range []string{"", "1:2", "00000000016B3748-00000003", "00000000016B374G:00000003"} {
		if _, _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) = %v, want ErrBadID", bad, err)
		}
	}
	if l, err := ParseLSN("16/B374D848"); err != nil || l.String() != "16/B374D848" {
		t.Fatalf("LSN round trip: %v %v", l, err)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f", "é✓", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString(nil, s)
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", b, s, err)
		}
	})
}
