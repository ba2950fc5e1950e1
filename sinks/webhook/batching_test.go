package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

// deliverAll runs a sink with the batch limits maxEvents and maxBytes (0:
// the config default, 1 MiB) against a recording receiver, feeds batches,
// and returns the requests received.
func deliverAll(t *testing.T, maxEvents, maxBytes int, batches [][]*pipeline.Event) []received {
	t.Helper()
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rec.record(r) }))
	defer srv.Close()
	cfg := webhookConfig("batching", srv.URL)
	cfg.MaxEvents = maxEvents
	if maxBytes > 0 {
		cfg.MaxBytes = maxBytes
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, batches, true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.ackedInOrder(t, len(batches))
	return rec.all()
}

// max_events closes a request, across pipeline batch boundaries, and
// requests keep commit order.
func TestMaxEventsClosesBatch(t *testing.T) {
	evs := makeEvents(10, 10)
	reqs := deliverAll(t, 4, 0, [][]*pipeline.Event{evs})
	var sizes []int
	var all []string
	for _, r := range reqs {
		ids := eventIDs(t, r.body)
		sizes = append(sizes, len(ids))
		all = append(all, ids...)
	}
	if !slices.Equal(sizes, []int{4, 4, 2}) || !slices.Equal(all, idsOf(evs)) {
		t.Fatalf("requests of %v events carrying %v; want 4, 4, 2 in commit order", sizes, all)
	}
}

// max_bytes closes a request before the event that would take it past the
// limit; an event larger than the limit goes alone.
func TestMaxBytesClosesBatch(t *testing.T) {
	evs := makeEvents(40, 5)
	limit := len(evs[0].Encoded())*7/2 + 2 // about three and a half events
	reqs := deliverAll(t, 100, limit, split(evs, 5))
	var all []string
	next := 0
	for i, r := range reqs {
		if len(r.body) > limit {
			t.Fatalf("request %d has %d bytes, over max_bytes %d", i, len(r.body), limit)
		}
		ids := eventIDs(t, r.body)
		all = append(all, ids...)
		next += len(ids)
		// Full: the next event would not have fitted.
		if next < len(evs) && len(r.body)+1+len(evs[next].Encoded()) <= limit {
			t.Fatalf("request %d (%d bytes) closed although event %d (%d bytes) fitted", i, len(r.body), next, len(evs[next].Encoded()))
		}
	}
	if !slices.Equal(all, idsOf(evs)) {
		t.Fatalf("events not delivered exactly once in commit order: %v", all)
	}

	reqs = deliverAll(t, 100, 10, split(evs[:3], 3))
	if len(reqs) != 3 {
		t.Fatalf("%d requests for 3 events each over max_bytes, want 3", len(reqs))
	}
}

// With max_wait 0 and max_events > 1 the sink sends what is waiting at
// once, and the body is still an array when it holds one event.
func TestArrayBodyForOneEvent(t *testing.T) {
	evs := makeEvents(1, 1)
	reqs := deliverAll(t, 50, 0, split(evs, 1))
	if len(reqs) != 1 || reqs[0].body[0] != '[' || reqs[0].header.Get(HeaderID) != evs[0].ID()+"-"+evs[0].ID() {
		t.Fatalf("got %d requests, first %s (id %s); want one array body", len(reqs), reqs[0].body, reqs[0].header.Get(HeaderID))
	}
}
