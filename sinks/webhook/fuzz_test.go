package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// Dead-letter lines come from a file people may edit: any input yields a
// request or an error, never a panic, and a valid record round-trips to
// the body it describes.
func FuzzRequestFromLine(f *testing.F) {
	evs := makeEvents(3, 3)
	for _, dl := range []DeadLetter{
		{WebhookID: "a", Format: "event", Events: []json.RawMessage{evs[0].Encoded()}},
		{Format: "cloudevents", Batch: true, Database: "db", Events: []json.RawMessage{evs[0].Encoded(), evs[1].Encoded()}},
	} {
		line, _ := dl.encodeLine()
		f.Add(line)
	}
	f.Add([]byte(`{"events":[{"id":"x","op":"\"}"}],"format":"cloudevents"}`))
	f.Add([]byte(`{"events":[]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := requestFromLine(line)
		if err != nil {
			return
		}
		if req.id == "" || len(req.events) == 0 || !json.Valid(req.body) {
			t.Fatalf("request from %q: id %q, %d events, body %q", line, req.id, len(req.events), req.body)
		}
		if req.contentType == contentJSON && len(req.events) == 1 && req.body[0] != '[' &&
			!bytes.Equal(bytes.TrimSpace(req.body), bytes.TrimSpace(req.events[0])) {
			t.Fatalf("body %q is not the event %q", req.body, req.events[0])
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "0", "-3", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Retry-After": {v}}
		if d := parseRetryAfter(h, now); d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %s, negative", v, d)
		}
	})
}
