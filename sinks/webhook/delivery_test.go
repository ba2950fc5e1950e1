package webhook

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// A receiver that answers 503 to a third of the requests and resets some
// connections (some after processing the request, so its answer is lost)
// still gets every event at least once, in commit order, with no gap, and
// every request it accepted carries a valid signature.
func TestDeliveryUnderFailures(t *testing.T) {
	key, err := ParseKey(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	var (
		rec    recorder // requests processed (answered 2xx, or processed then reset)
		n      atomic.Int64
		resets atomic.Int64
		errs   atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		switch {
		case i%3 == 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		case i%9 == 3: // reset before processing
			resets.Add(1)
			resetConn(t, w)
			return
		}
		got := rec.record(r)
		if err := key.Verify(got.header, got.body, time.Now(), 5*time.Minute); err != nil {
			errs.Add(1)
			t.Errorf("request %d: %v", i, err)
		}
		if i%9 == 0 { // processed, but the answer is lost
			resets.Add(1)
			resetConn(t, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	evs := makeEvents(600, 7)
	cfg := webhookConfig("chaos", srv.URL+"/hooks")
	cfg.MaxEvents = 5
	cfg.Retry.MaxElapsed = time.Hour
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, split(evs, 3), true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.ackedInOrder(t, 200)

	want := idsOf(evs)
	var firstSeen []string
	seen := map[string]bool{}
	dups := 0
	for _, r := range rec.all() {
		ids := eventIDs(t, r.body)
		if !slices.IsSorted(ids) {
			t.Fatalf("events out of order within a request: %v", ids)
		}
		for _, id := range ids {
			if seen[id] {
				dups++
				continue
			}
			seen[id] = true
			firstSeen = append(firstSeen, id)
		}
	}
	if !slices.Equal(firstSeen, want) {
		t.Fatalf("events first seen in this order:\n%v\nwant commit order:\n%v", firstSeen, want)
	}
	if resets.Load() == 0 || dups == 0 || errs.Load() != 0 {
		t.Fatalf("resets %d, duplicates %d, signature errors %d: want resets and duplicates, no signature error",
			resets.Load(), dups, errs.Load())
	}
	t.Logf("%d requests, %d resets, %d duplicate events", n.Load(), resets.Load(), dups)
}

// countingTransport counts attempts and signals after each one.
type countingTransport struct {
	base     http.RoundTripper
	attempts atomic.Int64
	tick     chan struct{}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	c.attempts.Add(1)
	select {
	case c.tick <- struct{}{}:
	default:
	}
	return resp, err
}

func (c *countingTransport) CloseIdleConnections() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// While the receiver is down the sink keeps retrying one request and
// reads nothing more from its inbox; when the receiver comes back every
// event is delivered, in order.
func TestReceiverDownThenBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // connection refused until the receiver starts below

	rt := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone(), tick: make(chan struct{}, 1)}
	cfg := webhookConfig("down", "http://"+addr+"/hooks")
	cfg.MaxEvents = 5
	cfg.Retry = Retry{Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond, MaxElapsed: time.Hour}
	s, err := New(cfg, nil, WithTransport(rt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	evs := makeEvents(200, 4)
	f := feed(ctx, split(evs, 2), true)
	done := runSink(ctx, s, f.in)

	for rt.attempts.Load() < 15 {
		select {
		case <-rt.tick:
		case <-ctx.Done():
			t.Fatal("the sink did not retry")
		}
	}
	// One request of at most 5 events is in flight: it took at most three
	// batches of 2 (the third partly), and nothing since.
	if taken := f.taken.Load(); taken > 3 {
		t.Fatalf("the sink read %d batches while the receiver was down, want at most 3", taken)
	}
	f.ackedInOrder(t, 0)

	var rec recorder
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		w.WriteHeader(http.StatusOK)
	}))
	for i := 0; ; i++ {
		if srv.Listener, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if i == 50 {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // the port may linger briefly
	}
	srv.Start()
	defer srv.Close()

	if err := waitErr(t, done); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.ackedInOrder(t, 100)
	var got []string
	for _, r := range rec.all() {
		got = append(got, eventIDs(t, r.body)...)
	}
	if !slices.Equal(got, idsOf(evs)) {
		t.Fatalf("delivered %d events, not exactly the %d in order", len(got), len(evs))
	}
}

// Closing the inbox sends what is pending at once, without waiting for
// max_wait, and acknowledges everything before Run returns; empty batches
// are acknowledged in order.
func TestCloseFlushesAndAcksEmptyBatches(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
	}))
	defer srv.Close()
	cfg := webhookConfig("flush", srv.URL)
	cfg.MaxEvents = 100
	cfg.MaxWait = time.Hour
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := makeEvents(6, 3)
	batches := [][]*pipeline.Event{nil, evs[:2], nil, evs[2:5], nil, evs[5:], nil}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, batches, true)
	start := time.Now()
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Run took %s: it waited for max_wait", d)
	}
	f.ackedInOrder(t, len(batches))
	reqs := rec.all()
	if len(reqs) != 1 || !slices.Equal(eventIDs(t, reqs[0].body), idsOf(evs)) {
		t.Fatalf("got %d requests, want one with all 6 events", len(reqs))
	}
}

// Only empty batches: all acknowledged, nothing sent.
func TestEmptyBatchesAckedAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request")
	}))
	defer srv.Close()
	s, err := New(webhookConfig("empty", srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, make([][]*pipeline.Event, 5), false)
	done := runSink(ctx, s, f.in)
	waitClosed(t, f.allAcked, "acknowledgements of empty batches")
	f.ackedInOrder(t, 5)
	cancel()
	if err := waitErr(t, done); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// Cancelling ctx while a request is being retried makes Run return nil
// promptly, without acknowledging the request's batch.
func TestCancelWhileRetrying(t *testing.T) {
	attempts := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts <- struct{}{}
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	cfg := webhookConfig("cancel", srv.URL)
	cfg.Retry = Retry{Initial: time.Hour, Max: time.Hour, MaxElapsed: 24 * time.Hour}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := feed(ctx, split(makeEvents(3, 3), 3), false)
	done := runSink(ctx, s, f.in)
	select {
	case <-attempts:
	case <-time.After(waitTimeout):
		t.Fatal("no attempt")
	}
	cancel()
	if err := waitErr(t, done); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	f.ackedInOrder(t, 0)
}
