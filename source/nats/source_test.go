package nats

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/internal/natsembed/natsembedtest"
	"github.com/pgcdc/pgcdc/pipeline"
	natssink "github.com/pgcdc/pgcdc/sinks/nats"
)

// write appends n transactions of per events (LSNs from base) to stream
// "s" through the nats sink, with cat as the source's catalog.
func write(t testing.TB, url string, n, per int, base pipeline.LSN, cat pipeline.Catalog) []string {
	t.Helper()
	sink, err := natssink.New(natssink.Config{Name: "w", Conn: natsconn.Options{URL: url}, Subject: natssink.DefaultSubject,
		Stream: natssink.Stream{Name: "s", Create: true}}, nil, natssink.WithCatalog(cat))
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan *pipeline.Batch, n)
	var ids []string
	for i := range n {
		lsn := base + pipeline.LSN(i*0x100)
		evs := make([]*pipeline.Event, per)
		for j := range evs {
			evs[j] = &pipeline.Event{Op: pipeline.OpInsert, Schema: "public", Table: "orders", CommitLSN: lsn, Seq: uint32(j),
				CommitTime: time.Now().UTC(),
				After: pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: fmt.Appendf(nil, "%d", i*per+j)},
					{Name: "total", Kind: pipeline.KindNumber, Value: []byte(`"1.5"`)}}}
			evs[j].Encoded()
			ids = append(ids, evs[j].ID())
		}
		in <- pipeline.NewBatch(evs, lsn+1, nil)
	}
	close(in)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := sink.Run(ctx, in); err != nil {
		t.Fatal(err)
	}
	return ids
}

var testCatalog = pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{
	{Name: "id", Kind: pipeline.KindNumber, Key: true}, {Name: "total", Kind: pipeline.KindNumber}}}}

// collect is a sink that records ids; while gate is closed it holds.
type collect struct {
	mu   sync.Mutex
	ids  []string
	kind pipeline.Kind
	seen chan struct{}
	hold chan struct{} // receive before each batch when not nil
}

func newCollect() *collect { return &collect{seen: make(chan struct{}, 1)} }

func (c *collect) Name() string { return "collect" }
func (c *collect) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b, ok := <-in:
			if !ok {
				return nil
			}
			if c.hold != nil {
				select {
				case <-c.hold:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			c.mu.Lock()
			for _, e := range b.Events {
				c.ids = append(c.ids, e.ID())
				c.kind = e.After[1].Kind
			}
			c.mu.Unlock()
			b.Ack()
			select {
			case c.seen <- struct{}{}:
			default:
			}
		}
	}
}

func (c *collect) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// waitFor waits until the sink has n ids.
func (c *collect) waitFor(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for len(c.got()) < n {
		select {
		case <-c.seen:
		case <-deadline:
			t.Fatalf("sink has %d ids after 60s, want %d", len(c.got()), n)
		}
	}
}

// runEdge runs a pipeline of a Source with cfg into sink; stop cancels
// it and returns Run's error.
func runEdge(t testing.TB, cfg Config, sink pipeline.Sink) (*Source, func() error) {
	t.Helper()
	src := New(cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	if err := src.Prepare(pctx); err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(src, nil, []pipeline.Output{{Sink: sink}}, pipeline.Options{DrainTimeout: 5 * time.Second})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return src, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("pipeline did not stop within 30s")
		}
	}
}

// TestLiveSourceReadsInOrder: a live Source warmed by the whole stream
// emits every event in order, with the catalog's kinds, and then the
// events written while it runs.
func TestLiveSourceReadsInOrder(t *testing.T) {
	srv := natsembedtest.Start(t)
	want := write(t, srv.URL(), 50, 20, 0x1000000, testCatalog)
	sink := newCollect()
	src, stop := runEdge(t, Config{Conn: natsconn.Options{URL: srv.URL()}, Stream: "s", Warm: 1 << 20, BatchEvents: 64}, sink)
	select {
	case <-src.CaughtUp():
	case <-time.After(60 * time.Second):
		t.Fatal("not caught up after 60s")
	}
	if got := sink.got(); len(got) < len(want) {
		t.Fatalf("caught up with %d of %d events", len(got), len(want))
	}
	want = append(want, write(t, srv.URL(), 10, 5, 0x2000000, testCatalog)...)
	sink.waitFor(t, len(want))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := sink.got(); !slices.Equal(got, want) {
		t.Fatalf("got %d ids, want %d in order", len(got), len(want))
	}
	if sink.kind != pipeline.KindNumber {
		t.Errorf("total has kind %d: the catalog's kind (number) was not used", sink.kind)
	}
}

// TestDurableSourceResumes: a durable Source stopped mid-stream resumes
// after its stored position: every event arrives, in order, and the only
// repeats are a contiguous tail re-sent after the restart.
func TestDurableSourceResumes(t *testing.T) {
	srv := natsembedtest.Start(t)
	want := write(t, srv.URL(), 100, 10, 0x1000000, testCatalog)
	cfg := Config{Conn: natsconn.Options{URL: srv.URL()}, Stream: "s", Durable: "edge1.hook", BatchEvents: 10}
	first := newCollect()
	first.hold = make(chan struct{})
	_, stop := runEdge(t, cfg, first)
	deadline := time.After(60 * time.Second)
	for len(first.got()) < 400 { // release batches one at a time until 400 events went through
		select {
		case first.hold <- struct{}{}:
		case <-deadline:
			t.Fatalf("only %d events after 60s", len(first.got()))
		}
	}
	go func() { // let the drain finish what was handed out
		for {
			select {
			case first.hold <- struct{}{}:
			case <-time.After(10 * time.Second):
				return
			}
		}
	}()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got1 := first.got()
	second := newCollect()
	_, stop = runEdge(t, cfg, second)
	second.waitFor(t, len(want)-len(got1))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got2 := second.got()
	if len(got2) == 0 || got2[len(got2)-1] != want[len(want)-1] {
		t.Fatalf("second run ended at %v, want %s", got2[len(got2)-1:], want[len(want)-1])
	}
	i := slices.Index(want, got2[0])
	if i < 0 || i > len(got1) || !slices.Equal(got2, want[i:]) || !slices.Equal(got1, want[:len(got1)]) {
		t.Fatalf("first run %d ids, second run resumed at %d (%s): a gap or disorder", len(got1), i, got2[0])
	}
	t.Logf("first run %d events, second resumed at %d: %d repeated", len(got1), i, len(got1)-i)
}

// TestSeekAndBackfill: event ids map to stream sequences; ids older than
// the first message or newer than the last are resets; Backfill reads
// exactly the events between two ids.
func TestSeekAndBackfill(t *testing.T) {
	srv := natsembedtest.Start(t)
	ids := write(t, srv.URL(), 200, 3, 0x1000000, testCatalog) // seqs 1..600
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	// Holes: messages deleted by hand, and the first 100 dropped.
	for _, seq := range []uint64{300, 301, 302, 450} {
		if err := st.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(101)); err != nil {
		t.Fatal(err)
	}
	r := NewReader(st, testCatalog)
	for _, c := range []struct {
		after string
		seq   uint64
	}{
		{ids[100], 102}, {ids[101], 103}, {ids[298], 300}, {ids[298], 300}, {ids[303], 305}, {ids[448], 450}, {ids[598], 600}, {ids[599], 601},
	} {
		got, err := r.Seek(ctx, c.after)
		if err != nil || got != c.seq {
			t.Errorf("Seek(%s) = %d, %v; want %d", c.after, got, err, c.seq)
		}
	}
	for _, after := range []string{ids[99], ids[0], "0000000000000001:00000000", "00000000FFFFFFFF:00000000"} {
		if _, err := r.Seek(ctx, after); !IsReset(err) {
			t.Errorf("Seek(%s) = %v, want a reset", after, err)
		}
	}
	var got []string
	err = r.Backfill(ctx, ids[295], ids[310], func(e *pipeline.Event) error { got = append(got, e.ID()); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(ids[296:299], ids[302:310]) // 299..301 are seqs 300..302, deleted
	if !slices.Equal(got, want) {
		t.Fatalf("Backfill = %v\nwant %v", got, want)
	}
	got = nil
	if err := r.Backfill(ctx, ids[590], "", func(e *pipeline.Event) error { got = append(got, e.ID()); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ids[591:]) {
		t.Fatalf("Backfill to the end = %v", got)
	}
}

// TestCatalogBucketCreatedLater: an edge prepared before the writer made
// the catalog bucket finds the tables once it exists (Refresh).
func TestCatalogBucketCreatedLater(t *testing.T) {
	srv := natsembedtest.Start(t)
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "s", Subjects: []string{"pgcdc.>"}}); err != nil {
		t.Fatal(err)
	}
	src := New(Config{Conn: natsconn.Options{URL: srv.URL()}, Stream: "s"}, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	defer src.nc.Close()
	if _, ok := src.Catalog().Table("public", "orders"); ok {
		t.Fatal("table known before the writer wrote the catalog")
	}
	write(t, srv.URL(), 1, 1, 0x1000000, testCatalog)
	if err := src.Catalog().(pipeline.CatalogRefresher).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := src.Catalog().Table("public", "orders"); !ok {
		t.Fatal("table unknown after the writer created the bucket and a refresh")
	}
}
