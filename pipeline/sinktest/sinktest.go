// Package sinktest is the conformance suite every pipeline.Sink must pass:
// it acknowledges each batch exactly once, delivers in order, returns nil
// once its input is closed and drained, and returns promptly when its
// context is cancelled.
package sinktest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Harness describes the sink under test.
type Harness struct {
	// New returns a fresh sink for each sub-test.
	New func(t *testing.T) pipeline.Sink
	// Delivered returns the ids of the events the sink has delivered so
	// far, in delivery order (for a broadcast sink: what a subscriber
	// received). It may contain duplicates for at-least-once sinks.
	Delivered func(t *testing.T, s pipeline.Sink) []string
}

// Batches returns n batches of perBatch insert events each, with ids in
// commit order.
func Batches(n, perBatch int) []*pipeline.Batch {
	out := make([]*pipeline.Batch, n)
	for i := range out {
		evs := make([]*pipeline.Event, perBatch)
		lsn := pipeline.LSN(0x1000000 + i*0x100)
		for j := range evs {
			evs[j] = &pipeline.Event{Op: pipeline.OpInsert, Schema: "public", Table: "t", CommitLSN: lsn, Seq: uint32(j),
				XID: uint32(1000 + i), CommitTime: time.Unix(1700000000, 0).UTC(),
				Key:   pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: fmt.Appendf(nil, "%d", i*perBatch+j)}},
				After: pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: fmt.Appendf(nil, "%d", i*perBatch+j)}}}
			evs[j].Encoded()
		}
		out[i] = pipeline.NewBatch(evs, lsn+0x50, nil)
	}
	return out
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("AcksEveryBatchOnceAndDeliversInOrder", func(t *testing.T) {
		s := h.New(t)
		batches := Batches(20, 5)
		var acks atomic.Int64
		var want []string
		in := make(chan *pipeline.Batch, len(batches))
		for _, b := range batches {
			counted := pipeline.NewBatch(b.Events, b.End, func() { acks.Add(1) })
			in <- counted
			for _, e := range b.Events {
				want = append(want, e.ID())
			}
		}
		close(in)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Run(ctx, in); err != nil {
			t.Fatalf("Run after its input closed = %v, want nil", err)
		}
		if got := acks.Load(); got != int64(len(batches)) {
			t.Fatalf("%d batches acknowledged, want %d", got, len(batches))
		}
		got := slices.Compact(h.Delivered(t, s))
		if !slices.Equal(got, want) {
			t.Fatalf("delivered %d ids (after removing adjacent duplicates), want %d in order\n got: %v\nwant: %v", len(got), len(want), head(got), head(want))
		}
	})
	t.Run("ReturnsPromptlyOnCancel", func(t *testing.T) {
		s := h.New(t)
		in := make(chan *pipeline.Batch) // never closed
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, in) }()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of cancellation")
		}
	})
}

func head(s []string) []string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
