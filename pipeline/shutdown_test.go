package pipeline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestShutdownClock: the context ends exactly Timeout after the first
// Begin, never before; later Begins do not move it.
func TestShutdownClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewShutdown(10 * time.Second)
		time.Sleep(time.Hour) // not begun: nothing ends
		if s.Context().Err() != nil {
			t.Fatal("shutdown context ended before Begin")
		}
		start := time.Now()
		s.Begin()
		time.Sleep(5 * time.Second)
		s.Begin() // no effect
		<-s.Context().Done()
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("context ended %s after Begin, want 10s", d)
		}
		s.Release()
	})
}

// TestShutdownBeginWhen: the clock starts when the watched context ends.
func TestShutdownBeginWhen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewShutdown(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		defer s.BeginWhen(ctx)()
		time.Sleep(time.Minute)
		if s.Context().Err() != nil {
			t.Fatal("ended while the watched context was live")
		}
		cancel()
		start := time.Now()
		<-s.Context().Done()
		if d := time.Since(start); d != time.Second {
			t.Fatalf("ended %s after the watched context, want 1s", d)
		}
	})
}

// drainSource records what Drain reported.
type drainSource struct {
	batches []*Batch
	drained chan bool
}

func (s *drainSource) Run(ctx context.Context, w Writer, p Progress) error {
	for _, b := range s.batches {
		if err := w.Write(ctx, b); err != nil {
			break
		}
	}
	<-ctx.Done()
	s.drained <- p.Drain(context.Background())
	return nil
}

// TestDrainFalseAfterAbort: after a sink failed on a batch, Drain must not
// report that everything was acknowledged.
func TestDrainFalseAfterAbort(t *testing.T) {
	src := &drainSource{batches: []*Batch{batch(10, "t")}, drained: make(chan bool, 1)}
	bad := &holdSink{name: "bad", fail: errors.New("rejected")}
	p := New(src, nil, []Output{{Sink: bad}}, Options{DrainTimeout: time.Minute})
	if err := p.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded although the sink failed")
	}
	if <-src.drained {
		t.Fatal("Drain reported everything acknowledged after a sink failure")
	}
}

// TestSharedShutdownBoundsStuckSink: a sink that never finishes is
// cancelled when the shared shutdown clock runs out, and Run returns.
func TestSharedShutdownBoundsStuckSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := NewShutdown(30 * time.Second)
		defer stop.Release()
		src := &drainSource{batches: []*Batch{batch(10, "t")}, drained: make(chan bool, 1)}
		stuck := &holdSink{name: "stuck"} // never acknowledges
		p := New(src, nil, []Output{{Sink: stuck}}, Options{Shutdown: stop})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		start := time.Now()
		cancel()
		if <-src.drained {
			t.Fatal("Drain reported the unacknowledged batch as done")
		}
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Fatalf("shutdown took %s, want the shared 30s", d)
		}
		if stop.Context().Err() == nil {
			t.Fatal("shared shutdown context still live after it ran out")
		}
	})
}

// TestGuardStopsBeforeTheBatch: a guard error stops the pipeline before
// the batch reaches any sink, nothing from it is confirmed, and Run
// returns the guard's error.
func TestGuardStopsBeforeTheBatch(t *testing.T) {
	src := &drainSource{batches: []*Batch{batch(10, "t"), batch(20, "t")}, drained: make(chan bool, 1)}
	got := &holdSink{name: "s", auto: true}
	calls := 0
	guard := func() error {
		if calls++; calls == 2 {
			return errors.New(`transforms[0].filter.where[0]: unknown column "pricee"`)
		}
		return nil
	}
	p := New(src, nil, []Output{{Sink: got}}, Options{DrainTimeout: time.Minute, Guard: guard})
	err := p.Run(context.Background())
	if err == nil || err.Error() != `transforms[0].filter.where[0]: unknown column "pricee"` {
		t.Fatalf("Run = %v, want the guard's error", err)
	}
	if len(got.got) != 1 || got.got[0].End != 10 {
		t.Fatalf("sink got %d batches, want only the one before the guard failed", len(got.got))
	}
	if c := p.Progress().Confirmed(); c > 10 {
		t.Fatalf("confirmed %v, past the batch the guard refused", c)
	}
}

// TestTargetedEventsReachOneSink: an event with a Target goes to that sink
// only; the others count it as acknowledged (filtered out), so the batch
// still confirms.
func TestTargetedEventsReachOneSink(t *testing.T) {
	b := batch(10, "t", "t")
	b.Events[1].Target = "search"
	src := &drainSource{batches: []*Batch{b}, drained: make(chan bool, 1)}
	search := &holdSink{name: "search", auto: true, arrived: make(chan *Batch, 1)}
	other := &holdSink{name: "other", auto: true, arrived: make(chan *Batch, 1)}
	p := New(src, nil, []Output{{Sink: search}, {Sink: other}}, Options{DrainTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	s, o := <-search.arrived, <-other.arrived
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 2 || len(o.Events) != 1 || o.Events[0].Target != "" {
		t.Fatalf("search got %d events, other %d; want 2 and 1", len(s.Events), len(o.Events))
	}
	if !<-src.drained || p.Progress().Confirmed() != 10 {
		t.Fatalf("not confirmed: %v", p.Progress().Confirmed())
	}
}

// TestStatusAcked: Status names, per sink, the newest event it
// acknowledged.
func TestStatusAcked(t *testing.T) {
	src := &drainSource{batches: []*Batch{batch(10, "a", "b"), batch(20, "c")}, drained: make(chan bool, 1)}
	s := &holdSink{name: "s", auto: true, arrived: make(chan *Batch, 2)}
	p := New(src, nil, []Output{{Sink: s}}, Options{DrainTimeout: time.Minute})
	if st := p.Status(); len(st) != 1 || st[0].Name != "s" || st[0].Acked != "" {
		t.Fatalf("before Run: %+v", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	<-s.arrived
	<-s.arrived
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := p.Status()[0].Acked; got != "0000000000000013:00000000" {
		t.Fatalf("acked %q, want the last event of the second batch", got)
	}
}
