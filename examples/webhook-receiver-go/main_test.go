package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

const secret = "whsec_cGdjZGMtZXhhbXBsZS1zZWNyZXQtMzItYnl0ZXMh"

// The example's verifier accepts the Standard Webhooks test vector.
func TestVerifyTestVector(t *testing.T) {
	key, err := decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	if err := verify(key, h, body, time.Unix(1614265330, 0), 5*time.Minute); err != nil {
		t.Fatalf("test vector: %v", err)
	}
	if err := verify(key, h, []byte(`{"test": 1}`), time.Unix(1614265330, 0), 5*time.Minute); err == nil {
		t.Fatal("a tampered body verified")
	}
	if err := verify(key, h, body, time.Unix(1614265330+600, 0), 5*time.Minute); err == nil {
		t.Fatal("a stale timestamp verified")
	}
}

func testEvents(n int) []*pipeline.Event {
	evs := make([]*pipeline.Event, n)
	for i := range evs {
		id := []byte(strconv.Itoa(i))
		evs[i] = &pipeline.Event{
			Op: pipeline.OpInsert, Schema: "public", Table: "orders",
			CommitLSN: pipeline.LSN(0x1000 + uint64(i/2)*0x10), Seq: uint32(i % 2),
			CommitTime: time.Now().UTC(),
			Key:        pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: id}},
			After:      pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: id}},
		}
		evs[i].Encoded()
	}
	return evs
}

// deliver runs a real webhook sink against url until every event is
// acknowledged.
func deliver(t *testing.T, url, format string, maxEvents int, evs []*pipeline.Event) {
	t.Helper()
	key, err := webhook.ParseKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhook.New(webhook.Config{
		Name: "example", URL: url, Timeout: 5 * time.Second, Key: key, CloudEvents: format == "cloudevents",
		MaxEvents: maxEvents, MaxBytes: 1 << 20,
		Retry: webhook.Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 10 * time.Second},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := make(chan *pipeline.Batch, len(evs))
	var acked sync.WaitGroup
	for _, e := range evs {
		acked.Add(1)
		in <- pipeline.NewBatch([]*pipeline.Event{e}, e.CommitLSN, acked.Done)
	}
	close(in)
	if err := s.Run(ctx, in); err != nil {
		t.Fatalf("Run: %v", err)
	}
	acked.Wait() // Run returned nil: every batch is acknowledged
}

// The example receives what the sink sends, in every format, processes
// each event once although the sink redelivers, retries what failed, and
// rejects forged requests.
func TestReceiverEndToEnd(t *testing.T) {
	key, err := decodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	evs := testEvents(6)
	var (
		mu        sync.Mutex
		processed []string
		failOnce  = evs[1].ID() // its first processing fails
	)
	rc := newReceiver(key, func(ev Event) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.ID == failOnce {
			failOnce = ""
			return errors.New("database busy")
		}
		processed = append(processed, ev.ID)
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks", rc)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var want []string
	for _, e := range evs {
		want = append(want, e.ID())
	}
	deliver(t, srv.URL+"/hooks", "event", 4, evs)       // arrays; one 503 then a retry
	deliver(t, srv.URL+"/hooks", "event", 1, evs)       // redelivery, single events
	deliver(t, srv.URL+"/hooks", "cloudevents", 3, evs) // redelivery, CloudEvents batches
	mu.Lock()
	got := slices.Clone(processed)
	mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("processed %v, want each event once in order %v", got, want)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks", strings.NewReader(string(evs[0].Encoded())))
	req.Header.Set("webhook-id", evs[0].ID())
	req.Header.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	req.Header.Set("webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged request answered %d, want 401", resp.StatusCode)
	}
}
