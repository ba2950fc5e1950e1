package sse

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Per-write limits: a client that is behind gets up to maxBatch events or
// maxBytes of JSON per write (and flush). They bound what a stalled client
// holds while its write waits for the deadline.
const (
	maxBatch = 128
	maxBytes = 32 << 10
)

// knownParams are the query parameters a stream request may carry.
// access_token is reserved for authentication (ARCHITECTURE §9).
var knownParams = map[string]bool{
	"table": true, "op": true, "filter": true, "select": true,
	"lastEventId": true, "access_token": true,
}

// scratch is what a client needs while it writes; it goes back to a pool
// while the client waits, so an idle connection holds none of it.
type scratch struct {
	evs []hub.Item
	buf []byte
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{evs: make([]hub.Item, 0, maxBatch), buf: make([]byte, 0, 16<<10)}
}}

// putScratch returns sc to the pool. Only sc.evs[:len] can hold event
// pointers: items past it were cleared when they were last used.
func putScratch(sc *scratch) {
	clear(sc.evs)
	if cap(sc.buf) > 2*maxBytes {
		sc.buf = make([]byte, 0, 16<<10)
	}
	scratchPool.Put(sc)
}

// ServeHTTP serves one event stream: GET with the query parameters table,
// op, filter, select and lastEventId (the Last-Event-ID header takes
// precedence, since EventSource sends the newest id there when it
// reconnects), OPTIONS for CORS preflight. Bad parameters get 400 with a
// JSON body naming each one.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.cors(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodOptions:
		s.preflight(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, OPTIONS")
		hub.WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: an event stream is read with GET", r.Method), nil)
		return
	}
	st := s.open(w, r)
	if st == nil {
		return
	}
	h := w.Header()
	h["Content-Type"] = contentType // shared, read-only values: no allocation per stream
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = accelNo
	remote := r.RemoteAddr
	s.log.Debug("client connected", "remote", remote, "reset", st.reset != "")
	if out := hijack(w, r, s.writeTimeout); out != nil {
		// The stream runs on its own goroutine, so that net/http's
		// connection state (buffers, the request, a stack grown while
		// parsing it) is released when this handler returns.
		go s.serve(out, st, remote)
		return
	}
	s.serve(newHTTPOut(w, r, s.writeTimeout), st, remote)
}

// serve runs the stream and ends it.
func (s *Sink) serve(out output, st *streamState, remote string) {
	reason := s.stream(out, st, remote)
	out.finish(reason == hub.ReasonShutdown || reason == hub.ReasonOverflow)
	st.client.Leave(reason)
	s.log.Debug("client disconnected", "remote", remote, "reason", reason)
}

// streamState is one stream's subscription and position. It lives on the
// heap, so that the frames that stay on the goroutine's stack while a
// stream waits are small: an idle stream's stack then shrinks to 4 KB.
type streamState struct {
	sub    *transform.Subscription // nil: every event
	cur    hub.Cursor
	reset  string
	client *hub.Client
	wrote  bool // something was written since the last heartbeat beat
}

// open validates the request and registers the client, or answers the
// error and returns nil.
func (s *Sink) open(w http.ResponseWriter, r *http.Request) *streamState {
	q, problems := parseQuery(r.URL.RawQuery)
	if len(problems) > 0 {
		hub.WriteProblems(w, problems)
		return nil
	}
	st := &streamState{}
	if spec := transform.QuerySpec(q); len(spec.Table)+len(spec.Op)+len(spec.Filter)+len(spec.Select) > 0 {
		var err error
		if st.sub, err = s.Hub().Compile(spec); err != nil {
			hub.WriteProblems(w, hub.Problems(err, "query"))
			return nil
		}
	}
	lastID, param := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if lastID == "" {
		lastID, param = q.Get("lastEventId"), "lastEventId"
	}
	var err error
	if st.cur, st.reset, err = s.Hub().Seek(lastID); err != nil {
		hub.WriteProblems(w, []hub.Problem{{Param: param, Message: err.Error()}})
		return nil
	}
	if st.client, err = s.Hub().Register(); err != nil {
		w.Header().Set("Retry-After", "5")
		hub.WriteError(w, http.StatusServiceUnavailable, "the stream is shutting down", nil)
		return nil
	}
	return st
}

// parseQuery parses the raw query strictly: a malformed query or an
// unknown parameter is a problem, never silently ignored (a mistyped
// "tables=" would otherwise stream every table).
func parseQuery(raw string) (url.Values, []hub.Problem) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, []hub.Problem{{Param: "query", Message: "malformed query string: " + err.Error()}}
	}
	var problems []hub.Problem
	for k := range q {
		if !knownParams[k] {
			problems = append(problems, hub.Problem{Param: k, Message: "unknown parameter: want table, op, filter, select or lastEventId"})
		}
	}
	return q, problems
}

// stream writes the event stream until the client goes away, falls behind
// or the hub closes, and returns the disconnect reason.
func (s *Sink) stream(out output, st *streamState, remote string) string {
	if s.begin(out, st) != nil {
		return hub.ReasonWriteError
	}
	beat := s.Hub().Beat()
	for {
		wake, more, reason := s.cycle(out, st, remote)
		if reason != "" {
			return reason
		}
		if more {
			continue // maybe more: read again before waiting
		}
		select {
		case <-wake:
		case <-beat:
			beat = s.Hub().Beat()
			if reason := s.heartbeat(out, st); reason != "" {
				return reason
			}
		case <-out.gone():
			return hub.ReasonClientClosed
		}
	}
}

// begin writes the response head, the retry hint and any reset.
func (s *Sink) begin(out output, st *streamState) error {
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	b := append(sc.buf[:headroom], s.retryLine...)
	if st.reset != "" {
		b = appendControl(b, "reset", st.reset, "")
	}
	sc.buf = b[:0]
	st.wrote = true
	return out.begin(b)
}

// cycle writes what is pending (one write). more reports that there may be
// more at once; otherwise the caller waits on wake. A non-empty reason
// ends the stream.
func (s *Sink) cycle(out output, st *streamState, remote string) (wake <-chan struct{}, more bool, reason string) {
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	var err error
	sc.evs, wake, err = s.Hub().NextItems(&st.cur, sc.evs[:0], maxBytes)
	b, n, oldest := s.format(sc.buf[:headroom], sc.evs, st.sub)
	sc.buf = b[:0]
	if n > 0 {
		if out.write(b) != nil {
			return nil, false, hub.ReasonWriteError
		}
		st.wrote = true
		s.Hub().Delivered(n, oldest)
	}
	st.client.SetPending(st.cur.Pending())
	if err != nil {
		return nil, false, s.end(out, remote, err)
	}
	return wake, len(sc.evs) > 0, ""
}

// heartbeat writes a comment if nothing was written since the last beat.
func (s *Sink) heartbeat(out output, st *streamState) string {
	if !st.wrote && out.write(append(make([]byte, headroom, headroom+len(heartbeatLine)+2), heartbeatLine...)) != nil {
		return hub.ReasonWriteError
	}
	st.wrote = false
	return ""
}

// Response header values, shared by every stream (net/http copies them).
var (
	contentType = []string{"text/event-stream"}
	noCache     = []string{"no-cache"}
	accelNo     = []string{"no"}
)

// format appends the messages of the events sub keeps and returns how many
// and the commit time of the first. An event the subscription leaves
// unchanged is its head (built once by the hub), its JSON and a blank line.
func (s *Sink) format(b []byte, items []hub.Item, sub *transform.Subscription) ([]byte, int, time.Time) {
	var n int
	var oldest time.Time
	for _, it := range items {
		e := it.Event
		if sub != nil {
			if e = sub.Apply(e); e == nil {
				continue
			}
		}
		if n == 0 {
			oldest = e.CommitTime
		}
		n++
		if e == it.Event && it.Head != nil {
			b = append(b, it.Head...)
			b = append(b, e.Encoded()...)
			b = append(b, '\n', '\n')
			continue
		}
		var name string
		if s.eventNames {
			name = string(e.Op)
		}
		b = appendMessage(b, e, name, e.Encoded())
	}
	return b, n, oldest
}

// end finishes a stream that Next ended: an overflowing client gets a
// disconnect event naming the reason (if it can still take it); a closed
// hub ends the response cleanly.
func (s *Sink) end(out output, remote string, err error) string {
	var over *hub.OverflowError
	if errors.As(err, &over) {
		s.log.Info("client disconnected: too slow", "remote", remote, "reason", over.Error())
		_ = out.write(appendControl(make([]byte, headroom, 256), "disconnect", hub.ReasonOverflow, over.Error()))
		return hub.ReasonOverflow
	}
	return hub.ReasonShutdown
}

// cors applies the allowed_origins policy: a cross-origin request from an
// origin that is not allowed gets 403; an allowed one gets the CORS
// headers. It reports whether to go on.
func (s *Sink) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || hub.SameOrigin(origin, r.Host) {
		return true
	}
	if !s.origins.Allowed(origin, r.Host) {
		hub.WriteError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not allowed: list it in the sink's allowed_origins", origin), nil)
		return false
	}
	h := w.Header()
	if s.origins.Any() {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	return true
}

// preflight answers a CORS preflight request.
func (s *Sink) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "GET, OPTIONS")
	if r.Header.Get("Origin") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		h.Set("Access-Control-Allow-Headers", allowHeaders)
		h.Set("Access-Control-Max-Age", "600")
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowHeaders are the request headers a preflight allows: the ones an
// EventSource or a fetch of the stream uses.
const allowHeaders = "Last-Event-ID, Cache-Control, Accept, Authorization"
