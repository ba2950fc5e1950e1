package sse

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// ServeHTTP serves one event stream: GET with the query parameters table,
// op, filter, select and lastEventId (the Last-Event-ID header takes
// precedence, since EventSource sends the newest id there when it
// reconnects), OPTIONS for CORS preflight. The request passes the gate
// first (Host, Origin, authorization: live.Gate). Bad parameters get 400
// with a JSON body naming each one.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, ok := s.Gate.Admit(w, r, s.Origins)
	if !ok {
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodOptions:
		live.Preflight(w, r, "GET, OPTIONS", allowHeaders)
		return
	default:
		w.Header().Set("Allow", "GET, OPTIONS")
		live.WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: an event stream is read with GET", r.Method), nil)
		return
	}
	st, reset := s.open(w, r, scope)
	if st == nil {
		return
	}
	h := w.Header()
	h["Content-Type"] = contentType // shared, read-only values: no allocation per stream
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = accelNo
	s.log.Debug("client connected", "remote", r.RemoteAddr, "reset", reset != "")
	if conn, buffered := live.Hijack(w, r); conn != nil {
		// The stream runs on its own goroutine, so that net/http's
		// connection state (buffers, the request, a stack grown while
		// parsing it) is released when this handler returns.
		go s.serve(&st.c, newRawOut(conn, buffered, h, s.WriteTimeout), reset, r.RemoteAddr)
		return
	}
	s.serve(&st.c, newHTTPOut(w, r, s.WriteTimeout), reset, r.RemoteAddr)
}

// stream is one stream's writer and its one subscription, in one
// allocation.
type stream struct {
	c   live.Client[struct{}]
	sub live.Sub
}

// open validates the request and registers the client, or answers the
// error and returns nil. reset is the reason to send a reset first.
func (s *Sink) open(w http.ResponseWriter, r *http.Request, scope live.Scope) (st *stream, reset string) {
	q, problems := live.ParseQuery(r.URL.RawQuery, "lastEventId", "snapshot")
	if len(problems) > 0 {
		live.WriteProblems(w, problems)
		return nil, ""
	}
	spec := transform.QuerySpec(q)
	if ae := live.CheckScope(scope, s.Hub(), spec); ae != nil {
		live.WriteAuthError(w, ae)
		return nil, ""
	}
	sub, problems := live.Compile(r.Context(), s.Hub(), spec)
	if len(problems) > 0 {
		live.WriteProblems(w, problems)
		return nil, ""
	}
	lastID, param := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if lastID == "" {
		lastID, param = q.Get("lastEventId"), "lastEventId"
	}
	if problems := live.CheckID(lastID, param); len(problems) > 0 {
		live.WriteProblems(w, problems)
		return nil, ""
	}
	// snapshot=true: the current rows first (ignored when resuming: the
	// client has them already).
	snapshot := false
	switch v := q.Get("snapshot"); v {
	case "", "false":
	case "true":
		snapshot = lastID == ""
	default:
		live.WriteProblems(w, []live.Problem{{Param: "snapshot", Message: fmt.Sprintf("want true or false, got %q", v)}})
		return nil, ""
	}
	reg := live.Register(w, s.Hub())
	if reg == nil {
		return nil, ""
	}
	st = &stream{}
	st.c.Init(s.Hub(), reg, s, headroom, nil)
	st.c.SetExpiry(scope.DisconnectAt())
	reset, err := st.c.Subscribe(&st.sub, scope, sub, lastID)
	if err != nil { // the id was checked
		reg.Leave(hub.ReasonClientClosed)
		live.WriteProblems(w, []live.Problem{{Param: param, Message: err.Error()}})
		return nil, ""
	}
	st.c.Add(&st.sub)
	if snapshot {
		stop, problem := s.StartSnapshot(st.c.OwnerID(&st.sub), sub, "snapshot")
		if problem != nil {
			s.Hub().Unroute(&st.sub.Cur)
			reg.Leave(hub.ReasonClientClosed)
			live.WriteProblems(w, []live.Problem{*problem})
			return nil, ""
		}
		st.sub.Stop = stop
	}
	return st, reset
}

// serve runs the stream and ends it. Its frames stay on the goroutine's
// stack while the stream waits, so they are kept small (the ending and
// its logging are in end): an idle stream's stack then shrinks to 2 KB.
func (s *Sink) serve(c *live.Client[struct{}], out output, reset, remote string) {
	s.end(c, out, s.run(c, out, reset), remote)
}

// run writes the stream's start, then runs the client loop.
func (s *Sink) run(c *live.Client[struct{}], out output, reset string) error {
	if s.begin(out, reset) != nil {
		return live.ErrWrite
	}
	c.Sent()
	return c.Serve(out, out.gone())
}

// end finishes a stream that ended with err: an overflowing client gets
// a disconnect event naming the reason (if it can still take it), a
// client whose credential expired gets event: auth_expired (it
// re-authenticates and resumes from its last id, with no gap); a closed
// hub ends the response cleanly.
//
//go:noinline
func (s *Sink) end(c *live.Client[struct{}], out output, err error, remote string) {
	var over *hub.OverflowError
	expired := errors.Is(err, live.ErrExpired)
	switch {
	case errors.As(err, &over):
		s.log.Info("client disconnected: too slow", "remote", remote, "reason", over.Error())
		_ = out.Send(appendControl(make([]byte, headroom, 256), "disconnect", hub.ReasonOverflow, over.Error()))
	case expired:
		s.log.Debug("client disconnected: credential expired", "remote", remote)
		_ = out.Send(appendControl(make([]byte, headroom, 256), hub.ReasonAuthExpired, hub.ReasonAuthExpired, AuthExpiredMessage))
	}
	out.finish(over != nil || expired || errors.Is(err, hub.ErrClosed))
	c.Leave(err)
	s.log.Debug("client disconnected", "remote", remote, "reason", live.Reason(err))
}

// begin writes the response head, the retry hint and any reset.
//
//go:noinline
func (s *Sink) begin(out output, reset string) error {
	b := append(make([]byte, headroom, headroom+len(s.retryLine)+len(reset)+64), s.retryLine...)
	if reset != "" {
		b = appendControl(b, "reset", reset, "")
	}
	return out.begin(b)
}

// AppendEvent implements live.Protocol: an event the subscription leaves
// unchanged is its head (built once by the hub), its JSON and a blank
// line.
func (s *Sink) AppendEvent(b []byte, _ *live.Sub, it hub.Item, e *pipeline.Event) []byte {
	if e == it.Event && it.Head != nil {
		b = append(b, it.Head...)
		b = append(b, e.Encoded()...)
		return append(b, '\n', '\n')
	}
	var name string
	if s.eventNames {
		name = string(e.Op)
	}
	return appendMessage(b, e, name, e.Encoded())
}

// AppendReset implements live.Protocol: event: reset.
func (s *Sink) AppendReset(b []byte, _ *live.Sub, reason string) []byte {
	return appendControl(b, "reset", reason, "")
}

// Handle implements live.Protocol: an SSE client sends no requests.
func (s *Sink) Handle(b []byte, _ *live.Client[struct{}], _ struct{}) []byte { return b }

// AppendHeartbeat implements live.Protocol: a comment when nothing else
// was written since the previous beat.
func (s *Sink) AppendHeartbeat(b []byte, idle bool) []byte {
	if idle {
		b = append(b, heartbeatLine...)
	}
	return b
}

// AuthExpiredMessage is the message of event: auth_expired.
const AuthExpiredMessage = "the token expires: reconnect with a new one (Last-Event-ID resumes where this stream ended)"

// Response header values, shared by every stream (net/http copies them).
var (
	contentType = []string{"text/event-stream"}
	noCache     = []string{"no-cache"}
	accelNo     = []string{"no"}
)

// allowHeaders are the request headers a preflight allows: the ones an
// EventSource or a fetch of the stream uses.
const allowHeaders = "Last-Event-ID, Cache-Control, Accept, Authorization"
