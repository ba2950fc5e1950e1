package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// receiver is the webhook endpoint of pgcdc bench on 127.0.0.1: it
// answers 204, counts the events, checks that requests come in commit
// order (by webhook-id) and, when signing, verifies every signature.
type receiver struct {
	url        string
	secretYAML string // ", secret: ..." for the sink's flow mapping, or empty
	key        webhook.Key
	srv        *http.Server
	bufs       sync.Pool

	mu       sync.Mutex
	requests int64
	events   int64
	lastID   string
	bad      error
}

func startReceiver(sign bool) (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &receiver{url: "http://" + l.Addr().String() + "/hooks"}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	if sign {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		secret := "whsec_" + base64.StdEncoding.EncodeToString(raw[:])
		if r.key, err = webhook.ParseKey(secret); err != nil {
			return nil, err
		}
		r.secretYAML = fmt.Sprintf(", secret: %q", secret)
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	buf := r.bufs.Get().(*bytes.Buffer)
	defer r.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(req.Body); err != nil {
		return
	}
	body := buf.Bytes()
	var err error
	if !r.key.IsZero() {
		err = r.key.Verify(req.Header, body, time.Now(), 5*time.Minute)
	}
	n, cerr := countEvents(body)
	if err == nil {
		err = cerr
	}
	id := req.Header.Get(webhook.HeaderID)
	first, last, ok := strings.Cut(id, "-")
	if !ok {
		last = first
	}
	r.mu.Lock()
	if err == nil && first <= r.lastID {
		err = fmt.Errorf("request %s after one ending with %s: not in commit order", id, r.lastID)
	}
	if err != nil {
		if r.bad == nil {
			r.bad = err
		}
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest) // stops pgcdc: bench fails
		return
	}
	r.requests++
	r.events += int64(n)
	r.lastID = last
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// take returns and resets the counts of one drain run.
func (r *receiver) take() (requests, events int64, bad error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	requests, events, bad = r.requests, r.events, r.bad
	r.requests, r.events, r.lastID, r.bad = 0, 0, "", nil
	return requests, events, bad
}

func (r *receiver) close() { _ = r.srv.Close() }

// countEvents counts the events of a request body, one event object or a
// JSON array of them, in one pass without decoding: the objects opening
// at depth 1 of the array, strings skipped.
func countEvents(b []byte) (int, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		return 1, nil
	}
	if len(b) == 0 || b[0] != '[' {
		return 0, fmt.Errorf("body is neither an event nor an array of events")
	}
	depth, n := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth == 1 && c == '{' {
				n++
			}
			depth++
		case '}', ']':
			depth--
		}
	}
	if depth != 0 || inString {
		return 0, fmt.Errorf("body is not a complete JSON array")
	}
	return n, nil
}
