package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A 400 sends the request to the dead-letter file (fsynced, acknowledged)
// and delivery goes on; once the receiver is fixed, Replay delivers the
// same body under the same webhook-id, freshly signed, and empties the file.
func TestDeadLetterThenReplay(t *testing.T) {
	key, _ := ParseKey(testSecret)
	var (
		rec    recorder
		reject atomic.Bool
	)
	reject.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := rec.record(r)
		if err := key.Verify(got.header, got.body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		if reject.Load() && slices.Contains(eventIDs(t, got.body), evIDAt(4)) {
			http.Error(w, `{"error":"field total is invalid"}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	path := filepath.Join(t.TempDir(), "dead.jsonl")
	cfg := webhookConfig("billing", srv.URL+"/hooks")
	cfg.MaxEvents = 3
	cfg.DeadLetter = path
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := makeEvents(10, 10)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, split(evs, 10), true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.ackedInOrder(t, 1)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("dead-letter file has %d lines, want 1:\n%s", len(lines), data)
	}
	var dl DeadLetter
	if err := json.Unmarshal(lines[0], &dl); err != nil {
		t.Fatal(err)
	}
	wantID := evs[3].ID() + "-" + evs[5].ID()
	if dl.Sink != "billing" || dl.WebhookID != wantID || dl.Status != 400 || dl.Attempts != 1 ||
		dl.Format != "event" || !dl.Batch || !strings.Contains(dl.Response, "field total is invalid") ||
		!strings.Contains(dl.Error, "400") || time.Since(dl.Time) > time.Minute || len(dl.Events) != 3 {
		t.Fatalf("dead letter = %+v", dl)
	}
	for i, raw := range dl.Events {
		if !bytes.Equal(raw, evs[3+i].Encoded()) {
			t.Fatalf("dead-letter event %d = %s, want the event's exact bytes %s", i, raw, evs[3+i].Encoded())
		}
	}
	rejected := rec.all()[1]

	// Replaying while the receiver still rejects keeps the line.
	rep, err := Replay(ctx, cfg, "", nil)
	if err != nil || rep != (ReplayReport{Requests: 1, Failed: 1}) {
		t.Fatalf("Replay = %+v, %v; want 1 request, 1 failed", rep, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Fatalf("a failed replay changed the file:\n%s", after)
	}

	reject.Store(false)
	rep, err = Replay(ctx, cfg, "", nil)
	if err != nil || rep != (ReplayReport{Requests: 1, Accepted: 1, Events: 3}) {
		t.Fatalf("Replay = %+v, %v; want 1 request, 1 accepted, 3 events", rep, err)
	}
	reqs := rec.all()
	replayed := reqs[len(reqs)-1]
	if replayed.header.Get(HeaderID) != wantID || !bytes.Equal(replayed.body, rejected.body) {
		t.Fatalf("replayed request %s %s, want the original %s %s",
			replayed.header.Get(HeaderID), replayed.body, wantID, rejected.body)
	}
	if after, err := os.ReadFile(path); err != nil || len(after) != 0 {
		t.Fatalf("after a full replay the file holds %q (%v), want it empty", after, err)
	}
	if leftovers, _ := filepath.Glob(path + ".replay-*"); len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

// Replay keeps what it cannot read or deliver, removes what was accepted,
// and rebuilds CloudEvents bodies.
func TestReplayKeepsFailures(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := rec.record(r); got.header.Get(HeaderID) == "reject-me" {
			w.WriteHeader(http.StatusConflict)
		}
	}))
	defer srv.Close()
	evs := makeEvents(2, 1)
	good := DeadLetter{Sink: "s", WebhookID: evs[0].ID(), Format: "cloudevents", Database: "shop",
		Status: 400, Events: []json.RawMessage{evs[0].Encoded()}}
	bad := DeadLetter{Sink: "s", WebhookID: "reject-me", Format: "event",
		Events: []json.RawMessage{evs[1].Encoded()}}
	var file bytes.Buffer
	for _, dl := range []DeadLetter{good, bad} {
		line, err := dl.encodeLine()
		if err != nil {
			t.Fatal(err)
		}
		file.Write(line)
		if dl.WebhookID == good.WebhookID {
			file.WriteString("this is not json\n\n")
		}
	}
	path := filepath.Join(t.TempDir(), "dl.jsonl")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := webhookConfig("s", srv.URL)
	rep, err := Replay(context.Background(), cfg, path, nil, WithDatabase("ignored"))
	if err != nil || rep != (ReplayReport{Requests: 3, Accepted: 1, Failed: 2, Events: 1}) {
		t.Fatalf("Replay = %+v, %v; want 3 requests, 1 accepted, 2 failed, 1 event", rep, err)
	}
	after, _ := os.ReadFile(path)
	if strings.Count(string(after), "\n") != 2 || !strings.Contains(string(after), "this is not json") ||
		!strings.Contains(string(after), "reject-me") {
		t.Fatalf("file after replay:\n%s\nwant the unreadable and the rejected lines", after)
	}
	reqs := rec.all()
	var ce map[string]json.RawMessage
	if err := json.Unmarshal(reqs[0].body, &ce); err != nil {
		t.Fatal(err)
	}
	if reqs[0].header.Get("Content-Type") != contentCloudEvent || string(ce["source"]) != `"/postgres/shop/public/orders"` ||
		!bytes.Equal(ce["data"], evs[0].Encoded()) {
		t.Fatalf("replayed CloudEvent %s (%s), want the recorded database and the event as data",
			reqs[0].body, reqs[0].header.Get("Content-Type"))
	}

	if _, err := Replay(context.Background(), cfg, filepath.Join(t.TempDir(), "missing.jsonl"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Replay of a missing file = %v, want fs.ErrNotExist", err)
	}
	if _, err := Replay(context.Background(), cfg, "", nil); err == nil || !strings.Contains(err.Error(), "dead_letter") {
		t.Fatalf("Replay without a path = %v, want an error naming dead_letter", err)
	}
}

// Without dead_letter a permanent failure stops Run with an error naming
// the sink, the status and the fix; the batch is not acknowledged.
func TestPermanentFailureWithoutDeadLetter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown table", http.StatusBadRequest)
	}))
	defer srv.Close()
	s, err := New(webhookConfig("billing", srv.URL+"/hooks?token=abc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	evs := makeEvents(2, 2)
	f := feed(ctx, split(evs, 2), true)
	err = waitErr(t, runSink(ctx, s, f.in))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Permanent || de.Status != 400 || de.WebhookID != evs[0].ID() {
		t.Fatalf("Run = %v, want a permanent *DeliveryError for %s", err, evs[0].ID())
	}
	msg := err.Error()
	if de.Sink != "billing" { // the pipeline puts the name in the message
		t.Errorf("DeliveryError.Sink = %q, want billing", de.Sink)
	}
	for _, want := range []string{"400", "unknown table", "dead_letter", srv.URL + "/hooks"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "token=abc") {
		t.Errorf("error %q reveals the URL's query", msg)
	}
	f.ackedInOrder(t, 0)
}

// A dead-letter file that cannot be written stops the pipeline: the
// request is not acknowledged.
func TestDeadLetterWriteFailureStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := webhookConfig("dl", srv.URL)
	cfg.DeadLetter = filepath.Join(dir, "dl.jsonl")
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cfg.DeadLetter, 0o700); err != nil { // a directory where the file should be
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, split(makeEvents(1, 1), 1), true)
	err = waitErr(t, runSink(ctx, s, f.in))
	if err == nil || !strings.Contains(err.Error(), "dead-letter") || !strings.Contains(err.Error(), `"dl"`) {
		t.Fatalf("Run = %v, want an error about the dead-letter file", err)
	}
	f.ackedInOrder(t, 0)
}

// evIDAt is the id makeEvents(n, 10) gives event i, for i < 10.
func evIDAt(i int) string { return makeEvents(10, 10)[i].ID() }

// An append that finds the file locked by Replay waits, and then lands in
// the file Replay renamed into place, not in the replaced one.
func TestAppendWaitsForReplayLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dl.jsonl")
		if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		held, err := openLocked(t.Context(), path, os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- appendDeadLetter(t.Context(), path, []byte("new\n")) }()
		time.Sleep(time.Minute) // fake time: the append polls the lock meanwhile
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("the append finished while the file was locked: %v", err)
		default:
		}
		if err := os.WriteFile(path+".tmp", []byte("kept\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		held.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != "kept\nnew\n" {
			t.Fatalf("file holds %q, want the rewritten content then the appended line", got)
		}
	})
}
