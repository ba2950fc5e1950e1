package nats

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/pipeline"
)

// testConfig is a sink config for the server at url that creates stream
// "t".
func testConfig(url string) Config {
	return Config{Name: "nats", Conn: natsconn.Options{URL: url}, Subject: DefaultSubject,
		Stream: Stream{Name: "t", Create: true}, AckTimeout: 2 * time.Second, RetryMax: 200 * time.Millisecond}
}

// streamIDs returns the event ids in the stream, in stream order.
func streamIDs(t testing.TB, url, stream string) []string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get %d: %v", seq, err)
		}
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	return ids
}

// batches returns n batches of per events, the first at LSN base.
func batches(n, per int, base pipeline.LSN) []*pipeline.Batch {
	out := make([]*pipeline.Batch, n)
	for i := range out {
		lsn := base + pipeline.LSN(i*0x100)
		evs := make([]*pipeline.Event, per)
		for j := range evs {
			evs[j] = &pipeline.Event{Op: pipeline.OpInsert, Schema: "public", Table: "t", CommitLSN: lsn, Seq: uint32(j),
				CommitTime: time.Unix(1700000000, 0).UTC(),
				After:      pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: fmt.Appendf(nil, "%d", i*per+j)}}}
			evs[j].Encoded()
		}
		out[i] = pipeline.NewBatch(evs, lsn+0x50, nil)
	}
	return out
}

func ids(bs []*pipeline.Batch) []string {
	var out []string
	for _, b := range bs {
		for _, e := range b.Events {
			out = append(out, e.ID())
		}
	}
	return out
}

// counted re-wraps bs with an ack that counts.
func counted(bs []*pipeline.Batch, acks *int64Counter) []*pipeline.Batch {
	out := make([]*pipeline.Batch, len(bs))
	for i, b := range bs {
		out[i] = pipeline.NewBatch(b.Events, b.End, acks.inc)
	}
	return out
}

type int64Counter struct{ ch chan struct{} }

func newCounter() *int64Counter { return &int64Counter{ch: make(chan struct{}, 1<<16)} }
func (c *int64Counter) inc()    { c.ch <- struct{}{} }

// wait waits for n acks.
func (c *int64Counter) wait(t testing.TB, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for i := range n {
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("%d of %d batches acknowledged after %s", i, n, d)
		}
	}
}

// none fails if an ack arrives within d.
func (c *int64Counter) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-c.ch:
		t.Fatal("a batch was acknowledged while NATS was down")
	case <-time.After(d):
	}
}

// runSink runs s on in in the background; the returned func cancels it
// and returns Run's error.
func runSink(s *Sink, in chan *pipeline.Batch) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, in) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("Run did not return within 30s of cancel")
		}
	}
}
