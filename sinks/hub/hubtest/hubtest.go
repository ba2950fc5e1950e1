// Package hubtest builds events, catalogs and batches for the tests of the
// broadcast sinks. It is a test helper: production code does not import it.
package hubtest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Broadcast returns b with config's defaults filled in for a sink of type
// typ (sse or websocket), as a validated config would hold it: what the
// sinks' tests build their typed configs from.
func Broadcast(typ string, b config.Broadcast) config.Broadcast {
	c := config.Config{Sinks: []config.Sink{{Type: typ, Broadcast: b}}}
	c.SetDefaults()
	return c.Sinks[0].Broadcast
}

// Catalog returns the tables the tests publish: public.orders (id int8
// key, status text, total numeric, paid bool, note json) and public.users
// (id int4 key, name text, email text).
func Catalog() pipeline.StaticCatalog {
	return pipeline.StaticCatalog{
		{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{
			{Name: "id", Kind: pipeline.KindNumber, Type: "int8", Key: true},
			{Name: "status", Kind: pipeline.KindString, Type: "text"},
			{Name: "total", Kind: pipeline.KindNumber, Type: "numeric"},
			{Name: "paid", Kind: pipeline.KindBool, Type: "bool"},
			{Name: "note", Kind: pipeline.KindJSON, Type: "json"},
		}},
		{Schema: "public", Table: "users", Columns: []pipeline.ColumnInfo{
			{Name: "id", Kind: pipeline.KindNumber, Type: "int4", Key: true},
			{Name: "name", Kind: pipeline.KindString, Type: "text"},
			{Name: "email", Kind: pipeline.KindString, Type: "text"},
		}},
	}
}

// Order returns an encoded event of public.orders for row id, with the
// given op, status and total, committed now at lsn.
func Order(lsn pipeline.LSN, seq uint32, op pipeline.Op, id int, status string, total int) *pipeline.Event {
	row := pipeline.Row{
		{Name: "id", Kind: pipeline.KindNumber, Value: []byte(`"` + strconv.Itoa(id) + `"`)},
		{Name: "status", Kind: pipeline.KindString, Value: pipeline.AppendJSONString(nil, status)},
		{Name: "total", Kind: pipeline.KindNumber, Value: []byte(`"` + strconv.Itoa(total) + `"`)},
		{Name: "paid", Kind: pipeline.KindBool, Value: []byte("false")},
		{Name: "note", Kind: pipeline.KindJSON, Value: []byte("null")},
	}
	e := &pipeline.Event{
		Op: op, Schema: "public", Table: "orders", CommitLSN: lsn, Seq: seq,
		XID: uint32(lsn), CommitTime: time.Now(), Key: row[:1],
	}
	switch op {
	case pipeline.OpDelete:
		e.Before = row
	case pipeline.OpUpdate:
		e.Before, e.After = row[:1], row
	default:
		e.After = row
	}
	e.Encoded()
	return e
}

// User returns an encoded insert of public.users.
func User(lsn pipeline.LSN, seq uint32, id int, name string) *pipeline.Event {
	row := pipeline.Row{
		{Name: "id", Kind: pipeline.KindNumber, Value: []byte(strconv.Itoa(id))},
		{Name: "name", Kind: pipeline.KindString, Value: pipeline.AppendJSONString(nil, name)},
		{Name: "email", Kind: pipeline.KindString, Value: pipeline.AppendJSONString(nil, name+"@example.com")},
	}
	e := &pipeline.Event{
		Op: pipeline.OpInsert, Schema: "public", Table: "users", CommitLSN: lsn, Seq: seq,
		XID: uint32(lsn), CommitTime: time.Now(), Key: row[:1], After: row,
	}
	e.Encoded()
	return e
}

// Gen hands out increasing LSNs so that consecutive events get increasing
// ids. The zero Gen starts at LSN 0x1000000. It is safe for concurrent use.
type Gen struct{ lsn atomic.Uint64 }

// Orders returns n inserts of public.orders, one transaction each, with
// ids first, first+1, ... and status "new".
func (g *Gen) Orders(first, n int) []*pipeline.Event {
	out := make([]*pipeline.Event, n)
	for i := range out {
		out[i] = Order(g.Next(), 0, pipeline.OpInsert, first+i, "new", 10*(first+i))
	}
	return out
}

// Next returns the next LSN.
func (g *Gen) Next() pipeline.LSN {
	return pipeline.LSN(0x1000000 + g.lsn.Add(0x100))
}

// Feeder runs a sink and feeds it batches, checking that every batch is
// acknowledged.
type Feeder struct {
	t    testing.TB
	in   chan *pipeline.Batch
	done chan error
	acks atomic.Int64
	sent atomic.Int64
}

// Run starts sink.Run in a goroutine with a fresh input channel. Cleanup
// closes the input (if Close was not called) and waits for Run to return.
func Run(t testing.TB, ctx context.Context, sink pipeline.Sink) *Feeder {
	f := &Feeder{t: t, in: make(chan *pipeline.Batch, 64), done: make(chan error, 1)}
	in := f.in
	go func() { f.done <- sink.Run(ctx, in) }()
	t.Cleanup(func() { f.Close() })
	return f
}

// Send feeds one batch per event.
func (f *Feeder) Send(events ...*pipeline.Event) {
	for _, e := range events {
		f.SendBatch(e)
	}
}

// SendBatch feeds the events as one batch.
func (f *Feeder) SendBatch(events ...*pipeline.Event) {
	f.sent.Add(1)
	f.in <- pipeline.NewBatch(events, 0, func() { f.acks.Add(1) })
}

// Wait returns once every batch sent so far is acknowledged: it sends an
// empty batch and waits (10 s at most) for its ack, which the sink gives
// after every batch before it.
func (f *Feeder) Wait() {
	f.t.Helper()
	done := make(chan struct{})
	f.sent.Add(1)
	f.in <- pipeline.NewBatch(nil, 0, func() { f.acks.Add(1); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f.t.Fatal("the sink did not acknowledge within 10s")
	}
}

// Close closes the input and waits (10 s at most) for Run to return nil;
// it reports an unacknowledged batch. Calls after the first do nothing.
func (f *Feeder) Close() {
	if f.in == nil {
		return
	}
	close(f.in)
	f.in = nil
	select {
	case err := <-f.done:
		if err != nil {
			f.t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		f.t.Errorf("Run did not return within 10s of closing its input")
		return
	}
	if a, s := f.acks.Load(), f.sent.Load(); a != s {
		f.t.Errorf("%d batches acknowledged, want %d", a, s)
	}
}
