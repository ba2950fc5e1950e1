package sse

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
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
	evs []*pipeline.Event
	buf []byte
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{evs: make([]*pipeline.Event, 0, maxBatch), buf: make([]byte, 0, 16<<10)}
}}

// putScratch returns sc to the pool. Only sc.evs[:len] can hold event
// pointers: entries past it were cleared when they were last used.
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
	s.log.Debug("client connected", "remote", r.RemoteAddr, "reset", st.reset != "")
	reason := s.stream(w, r, st)
	st.client.Leave(reason)
	s.log.Debug("client disconnected", "remote", r.RemoteAddr, "reason", reason)
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
func (s *Sink) stream(w http.ResponseWriter, r *http.Request, st *streamState) string {
	rc := http.NewResponseController(w)
	if s.begin(w, rc, st) != nil {
		return hub.ReasonWriteError
	}
	for {
		wake, more, reason := s.cycle(w, rc, r, st)
		if reason != "" {
			return reason
		}
		if more {
			continue // maybe more: read again before waiting
		}
		select {
		case <-wake:
		case <-s.Hub().Beat():
			if reason := s.heartbeat(w, rc, st); reason != "" {
				return reason
			}
		case <-r.Context().Done():
			return hub.ReasonClientClosed
		}
	}
}

// begin writes the response head, the retry hint and any reset.
func (s *Sink) begin(w http.ResponseWriter, rc *http.ResponseController, st *streamState) error {
	h := w.Header()
	h["Content-Type"] = contentType // shared, read-only values: no allocation per stream
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = accelNo
	w.WriteHeader(http.StatusOK)
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	b := append(sc.buf[:0], s.retryLine...)
	if st.reset != "" {
		b = appendControl(b, "reset", st.reset, "")
	}
	sc.buf = b[:0]
	st.wrote = true
	return s.write(w, rc, b)
}

// cycle writes what is pending (one write, one flush). more reports that
// there may be more at once; otherwise the caller waits on wake. A
// non-empty reason ends the stream.
func (s *Sink) cycle(w http.ResponseWriter, rc *http.ResponseController, r *http.Request, st *streamState) (wake <-chan struct{}, more bool, reason string) {
	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	var err error
	sc.evs, wake, err = s.Hub().Next(&st.cur, sc.evs[:0], maxBytes)
	b, n, oldest := s.format(sc.buf[:0], sc.evs, st.sub)
	sc.buf = b[:0]
	if len(b) > 0 {
		if s.write(w, rc, b) != nil {
			return nil, false, hub.ReasonWriteError
		}
		st.wrote = true
		s.Hub().Delivered(n, oldest)
	}
	st.client.SetPending(st.cur.Pending())
	if err != nil {
		return nil, false, s.end(w, rc, r, err)
	}
	return wake, len(sc.evs) > 0, ""
}

// heartbeat writes a comment if nothing was written since the last beat.
func (s *Sink) heartbeat(w http.ResponseWriter, rc *http.ResponseController, st *streamState) string {
	if !st.wrote && s.write(w, rc, heartbeatLine) != nil {
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
// and the commit time of the first.
func (s *Sink) format(b []byte, evs []*pipeline.Event, sub *transform.Subscription) ([]byte, int, time.Time) {
	var n int
	var oldest time.Time
	for _, e := range evs {
		if sub != nil {
			if e = sub.Apply(e); e == nil {
				continue
			}
		}
		if n == 0 {
			oldest = e.CommitTime
		}
		n++
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
func (s *Sink) end(w http.ResponseWriter, rc *http.ResponseController, r *http.Request, err error) string {
	var over *hub.OverflowError
	if errors.As(err, &over) {
		s.log.Info("client disconnected: too slow", "remote", r.RemoteAddr, "reason", over.Error())
		_ = s.write(w, rc, appendControl(nil, "disconnect", hub.ReasonOverflow, over.Error()))
		return hub.ReasonOverflow
	}
	return hub.ReasonShutdown
}

// write writes b and flushes it within the write timeout.
func (s *Sink) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	if err := rc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
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
