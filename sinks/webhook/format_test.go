package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// captureOne delivers evs through a sink built from cfg (its URL replaced)
// and returns the requests received.
func captureOne(t *testing.T, cfg Config, evs []*pipeline.Event, opts ...Option) []received {
	t.Helper()
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rec.record(r) }))
	defer srv.Close()
	cfg.URL = srv.URL + "/hooks"
	s, err := New(cfg, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, [][]*pipeline.Event{evs}, true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec.all()
}

type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	Type            string          `json:"type"`
	Source          string          `json:"source"`
	ID              string          `json:"id"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

func checkCloudEvent(t *testing.T, ce cloudEvent, e *pipeline.Event) {
	t.Helper()
	want := cloudEvent{
		SpecVersion: "1.0", Type: "pgcdc." + string(e.Op), Source: "/postgres/shop/public/" + e.Table,
		ID: e.ID(), Time: e.CommitTime.UTC().Format("2006-01-02T15:04:05.000000Z"), DataContentType: "application/json",
	}
	got := ce
	got.Data = nil
	if got.SpecVersion != want.SpecVersion || got.Type != want.Type || got.Source != want.Source ||
		got.ID != want.ID || got.Time != want.Time || got.DataContentType != want.DataContentType {
		t.Fatalf("CloudEvent attributes %+v, want %+v", got, want)
	}
	if !bytes.Equal(ce.Data, e.Encoded()) {
		t.Fatalf("CloudEvent data %s, want the event's bytes %s", ce.Data, e.Encoded())
	}
	if _, err := time.Parse(time.RFC3339Nano, ce.Time); err != nil {
		t.Fatalf("time %q is not RFC 3339: %v", ce.Time, err)
	}
}

// format: cloudevents wraps each event in a structured-mode CloudEvent
// for single events and a batch array otherwise.
func TestCloudEvents(t *testing.T) {
	key, _ := ParseKey(testSecret)
	evs := makeEvents(3, 3)
	cfg := webhookConfig("ce", "")
	cfg.CloudEvents = true

	reqs := captureOne(t, cfg, evs, WithDatabase("shop"))
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if ct := r.header.Get("Content-Type"); ct != "application/cloudevents+json" {
			t.Fatalf("Content-Type %q, want application/cloudevents+json", ct)
		}
		if id := r.header.Get(HeaderID); id != evs[i].ID() {
			t.Fatalf("webhook-id %q, want the event id %q", id, evs[i].ID())
		}
		if err := key.Verify(r.header, r.body, time.Now(), time.Minute); err != nil {
			t.Fatal(err)
		}
		var ce cloudEvent
		if err := json.Unmarshal(r.body, &ce); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		checkCloudEvent(t, ce, evs[i])
	}

	cfg.MaxEvents = 3
	reqs = captureOne(t, cfg, evs, WithDatabase("shop"))
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if ct := r.header.Get("Content-Type"); ct != "application/cloudevents-batch+json" {
		t.Fatalf("Content-Type %q, want application/cloudevents-batch+json", ct)
	}
	if id := r.header.Get(HeaderID); id != evs[0].ID()+"-"+evs[2].ID() {
		t.Fatalf("webhook-id %q, want first-last", id)
	}
	var ces []cloudEvent
	if err := json.Unmarshal(r.body, &ces); err != nil || len(ces) != 3 {
		t.Fatalf("body %s: %v, want an array of 3 CloudEvents", r.body, err)
	}
	for i, ce := range ces {
		checkCloudEvent(t, ce, evs[i])
	}
}

// format: event sends the event's exact bytes as application/json, with
// the configured headers, the User-Agent and the Standard Webhooks headers.
func TestEventFormatAndHeaders(t *testing.T) {
	key, _ := ParseKey(testSecret)
	evs := makeEvents(1, 1)
	cfg := webhookConfig("plain", "")
	cfg.Headers = http.Header{"Authorization": {"Bearer t0ken"}, "X-Tenant": {"42"}} // canonical, as internal/wiring builds it
	before := time.Now().Unix()
	reqs := captureOne(t, cfg, evs, WithVersion("1.2.3"))
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	checks := map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "pgcdc/1.2.3",
		"Authorization": "Bearer t0ken",
		"X-Tenant":      "42",
		HeaderID:        evs[0].ID(),
	}
	for h, want := range checks {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !bytes.Equal(r.body, evs[0].Encoded()) {
		t.Fatalf("body %s, want the event's bytes %s", r.body, evs[0].Encoded())
	}
	if ts, err := strconv.ParseInt(r.header.Get(HeaderTimestamp), 10, 64); err != nil || ts < before || ts > time.Now().Unix() {
		t.Fatalf("webhook-timestamp %q, want the Unix time of the attempt", r.header.Get(HeaderTimestamp))
	}
	if err := key.Verify(r.header, r.body, time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.header.Get(HeaderSignature), "v1,") {
		t.Fatalf("webhook-signature %q", r.header.Get(HeaderSignature))
	}

	// Unsigned: webhook-id and webhook-timestamp still sent, no signature.
	cfg.Key = Key{}
	reqs = captureOne(t, cfg, evs)
	if h := reqs[0].header; h.Get(HeaderID) == "" || h.Get(HeaderTimestamp) == "" || h.Get(HeaderSignature) != "" {
		t.Fatalf("unsigned request headers %v", h)
	}
}

// Every retry carries the same webhook-id and a fresh timestamp.
func TestRetryKeepsIDRefreshesTimestamp(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(rec.all()) < 2 {
			rec.record(r)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rec.record(r)
	}))
	defer srv.Close()
	clock := time.Unix(1_800_000_000, 0)
	var ticks int64
	s, err := New(webhookConfig("ids", srv.URL), nil, WithClock(func() time.Time {
		ticks++
		return clock.Add(time.Duration(ticks) * time.Second)
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, split(makeEvents(1, 1), 1), true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatal(err)
	}
	reqs := rec.all()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3", len(reqs))
	}
	key, _ := ParseKey(testSecret)
	seenTS := map[string]bool{}
	for _, r := range reqs {
		if r.header.Get(HeaderID) != reqs[0].header.Get(HeaderID) {
			t.Fatalf("webhook-id changed across retries")
		}
		seenTS[r.header.Get(HeaderTimestamp)] = true
		if err := key.Verify(r.header, r.body, time.Time{}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(seenTS) != 3 {
		t.Fatalf("timestamps %v, want a fresh one per attempt", seenTS)
	}
}
