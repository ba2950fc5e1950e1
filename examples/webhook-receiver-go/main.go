// Command webhook-receiver-go is a minimal receiver for pgcdc's webhook
// sink, using only the standard library. It verifies the Standard Webhooks
// signature, skips events it has already processed (pgcdc delivers at
// least once: dedupe by event id), and answers 2xx only after processing,
// so that anything it could not process is sent again.
//
//	WEBHOOK_SECRET=whsec_... LISTEN=127.0.0.1:9000 go run ./examples/webhook-receiver-go
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	key, err := decodeSecret(os.Getenv("WEBHOOK_SECRET"))
	if err != nil {
		log.Fatalf("WEBHOOK_SECRET: %v", err)
	}
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	rc := newReceiver(key, func(ev Event) error {
		log.Printf("%s %s %s.%s key=%s", ev.ID, ev.Op, ev.Schema, ev.Table, ev.Key)
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /hooks", rc)
	log.Printf("listening on http://%s/hooks", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}

// Event is the part of a pgcdc event this receiver reads.
type Event struct {
	ID     string          `json:"id"`
	Op     string          `json:"op"`
	Schema string          `json:"schema"`
	Table  string          `json:"table"`
	Key    json.RawMessage `json:"key"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// decodeSecret turns the configured secret into the HMAC key: "whsec_"
// followed by base64 (the Standard Webhooks form), or the raw bytes of any
// other string, exactly as pgcdc reads its own `secret`.
func decodeSecret(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errors.New("is empty")
	}
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, errors.New("the part after whsec_ is not valid base64")
		}
		return key, nil
	}
	return []byte(secret), nil
}

// receiver handles POST /hooks.
type receiver struct {
	key       []byte
	tolerance time.Duration
	process   func(Event) error
	now       func() time.Time

	mu   sync.Mutex // one request at a time: pgcdc sends in order anyway
	seen *idSet
}

func newReceiver(key []byte, process func(Event) error) *receiver {
	return &receiver{key: key, tolerance: 5 * time.Minute, process: process, now: time.Now, seen: newIDSet(100_000)}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Verify over the raw bytes, before any JSON parsing.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 32<<20))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := verify(rc.key, r.Header, body, rc.now(), rc.tolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized) // 4xx: pgcdc will not retry it
		return
	}
	events, err := parseEvents(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ev := range events {
		if rc.seen.has(ev.ID) {
			continue // a redelivery: already processed
		}
		if err := rc.process(ev); err != nil {
			// 5xx: pgcdc retries the request; events already processed
			// are skipped by the check above.
			log.Printf("process %s: %v", ev.ID, err)
			http.Error(w, "processing failed", http.StatusServiceUnavailable)
			return
		}
		rc.seen.add(ev.ID)
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify checks the Standard Webhooks signature: HMAC-SHA256 over
// "webhook-id.webhook-timestamp.body", base64, in a "v1,<sig>" entry of
// the space-separated webhook-signature header, compared in constant time,
// and a timestamp within tolerance of now (against replays).
func verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not an integer")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook-timestamp is more than %s away", tolerance)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(sigs) {
		version, sig, _ := strings.Cut(entry, ",")
		if version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

// parseEvents reads a body in any of pgcdc's formats: one event, an array
// of events, or CloudEvents (one envelope or an array) whose data is the
// event.
func parseEvents(body []byte) ([]Event, error) {
	var raws []json.RawMessage
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	events := make([]Event, 0, len(raws))
	for _, raw := range raws {
		var envelope struct {
			SpecVersion string          `json:"specversion"`
			Data        json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &envelope); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		if envelope.SpecVersion != "" {
			raw = envelope.Data
		}
		var ev Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		if ev.ID == "" {
			return nil, errors.New("event without id")
		}
		events = append(events, ev)
	}
	return events, nil
}

// idSet remembers the last max event ids processed. A real receiver stores
// them (or the event rows themselves, keyed by id) in its database, in the
// same transaction as the work the event caused.
type idSet struct {
	max   int
	order []string
	ids   map[string]struct{}
}

func newIDSet(max int) *idSet { return &idSet{max: max, ids: make(map[string]struct{})} }

func (s *idSet) has(id string) bool { _, ok := s.ids[id]; return ok }

func (s *idSet) add(id string) {
	s.ids[id] = struct{}{}
	s.order = append(s.order, id)
	if len(s.order) > s.max {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
}
