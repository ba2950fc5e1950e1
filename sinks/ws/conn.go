package ws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Close codes of the server (see the package documentation).
const (
	// CloseTryAgainLater is sent to a client that fell behind (RFC 6455
	// registry: "Try Again Later").
	CloseTryAgainLater = 1013
	// ClosePolicyViolation is sent to a client that sends more messages
	// per second than server.limits.client_messages_per_second allows.
	ClosePolicyViolation = 1008
	// CloseUnauthorized: no auth message in time, a bad token, or a token
	// that expired without a new one within ReauthGrace.
	CloseUnauthorized = 4001
	// CloseForbidden: the client re-authenticated with a token of another
	// scope; it reconnects with that token and resumes from its last ids.
	CloseForbidden = 4003
)

// ReauthGrace is how long a client has, after {"type":"auth_expired"},
// to send {"type":"auth","token":...}; no events flow meanwhile.
const ReauthGrace = 10 * time.Second

// closeError ends a connection with a close code of the server's.
type closeError struct {
	code   int
	reason string // a hub.Reason constant, for the metric
	text   string // the close frame's reason, at most 123 bytes
}

func (e *closeError) Error() string { return e.text }

// subTag is the WebSocket part of a subscription (live.Sub.Tag).
type subTag struct {
	id     string
	prefix []byte // the start of its event frames
}

// conn is one WebSocket connection: a reader goroutine that parses client
// messages into requests, and a writer goroutine (package live's client
// loop, with conn as its protocol) that owns the subscriptions and writes
// every frame.
type conn struct {
	s      *Sink
	ws     *websocket.Conn
	lc     *live.Conn
	client live.Client[request] // the writer
	remote string
	// deferred: the handshake carried no credential; the reader waits for
	// the auth message first, then opens the subscription of query.
	deferred bool
	query    string
	rscope   live.Scope // the reader's: what subscriptions are compiled with
	wscope   live.Scope // the writer's: the scope of record
	authed   bool       // the writer's: a scope was granted

	ctrl       chan request  // reader → writer
	readerDone chan struct{} // closed when the reader returns
	writerDone chan struct{} // closed when the writer returns
	readErr    error         // why the reader returned; read after readerDone
}

var _ live.Protocol[request] = (*conn)(nil)

func newConn(s *Sink, wsc *websocket.Conn, lc *live.Conn, reg *hub.Client, scope live.Scope, remote string) *conn {
	c := &conn{
		s: s, ws: wsc, lc: lc, rscope: scope, wscope: scope, remote: remote,
		ctrl:       make(chan request, 4),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.client.Init(s.Hub(), reg, c, 0, c.ctrl)
	return c
}

// readLoop reads client messages until the connection fails or closes.
// gorilla answers pings, and a client's close frame, itself.
func (c *conn) readLoop() {
	defer close(c.readerDone)
	wait := 2*c.s.heartbeat + c.s.WriteTimeout // a ping per heartbeat; its pong may queue behind a write
	c.ws.SetReadLimit(c.s.readLimit)
	if c.deferred && !c.authenticate() {
		return
	}
	extend := func() { _ = c.ws.SetReadDeadline(time.Now().Add(wait)) }
	var bucket tokenBucket
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		extend()
		if !bucket.take(c.s.msgRate, time.Now()) {
			limitHit("client_messages")
			r := closeRequest(ClosePolicyViolation, hub.ReasonReadError, "too_many_messages",
				fmt.Sprintf("more than %g messages per second (server.limits.client_messages_per_second)", c.s.msgRate))
			if c.send(r) {
				<-c.writerDone
			}
			c.readErr = errors.New("too many messages")
			return
		}
		var r request
		switch {
		case typ != websocket.TextMessage:
			r = fail("", "message", "binary messages are not supported: send JSON text")
		case isAuthMessage(data):
			r = c.authRequest(data)
		default:
			// A catalog refresh is bounded by hub.Compile itself.
			r = parse(context.Background(), c.s.Hub(), c.rscope, data)
		}
		if !c.send(r) {
			return
		}
	}
}

// send hands r to the writer; false when the writer is gone.
func (c *conn) send(r request) bool {
	select {
	case c.ctrl <- r:
		return true
	case <-c.writerDone:
		return false
	}
}

// authenticate reads the auth message of a connection whose handshake
// carried no credential, within auth.AuthMessageTimeout, then opens the
// subscription of the connection's query, if any. Anything else first,
// a bad token or silence closes the connection with CloseUnauthorized.
func (c *conn) authenticate() bool {
	_ = c.ws.SetReadDeadline(time.Now().Add(c.s.authTimeout))
	typ, data, err := c.ws.ReadMessage()
	var r request
	switch {
	case err != nil:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			c.readErr = err
			return false
		}
		r = closeRequest(CloseUnauthorized, hub.ReasonAuthExpired, "missing_token", fmt.Sprintf(`no auth message within %s: send {"type":"auth","token":"<token>"} first`, c.s.authTimeout))
	case typ != websocket.TextMessage:
		r = closeRequest(CloseUnauthorized, hub.ReasonAuthExpired, "missing_token", `authenticate first: the first message must be {"type":"auth","token":"<token>"}`)
	default:
		r = c.authRequest(data)
	}
	if r.kind == reqClose {
		// The writer sends the close; the reader waits for it, so that the
		// writer does not see the reader gone first.
		if c.send(r) {
			<-c.writerDone
		}
		c.readErr = errors.New("unauthenticated")
		return false
	}
	if !c.send(r) {
		return false
	}
	if first, ok := queryRequest(context.Background(), c.s.Hub(), c.rscope, c.query); ok {
		return c.send(first)
	}
	return true
}

// authRequest authenticates an auth message: a reqAuth with the new
// scope (which the reader compiles later subscriptions with), or a
// reqClose refusing it.
func (c *conn) authRequest(data []byte) request {
	if !c.s.Gate.Authenticates() {
		// server.auth mode none: every client reads everything anyway; a
		// client that always authenticates is not turned away.
		return request{kind: reqAuth}
	}
	scope, err := c.s.Gate.AuthorizeMessage(context.Background(), data)
	if err != nil {
		ae := &live.AuthError{Status: http.StatusUnauthorized, Reason: "invalid_token", Message: err.Error()}
		errors.As(err, &ae)
		code := CloseUnauthorized
		if ae.Status == http.StatusForbidden {
			code = CloseForbidden
		}
		return closeRequest(code, hub.ReasonAuthExpired, ae.Reason, ae.Message)
	}
	c.rscope = scope
	return request{kind: reqAuth, scope: scope}
}

func closeRequest(code int, metric, reason, message string) request {
	return request{kind: reqClose, close: &closeError{code: code, reason: metric, text: reason}, problems: []live.Problem{{Param: "auth", Message: message}}}
}

// writeLoop runs the client loop until the connection ends, then closes
// it. Its frame stays on the goroutine's stack while the connection
// waits, so the ending is in finish.
func (c *conn) writeLoop() {
	for {
		err := c.client.Serve(c.lc, c.readerDone)
		if errors.Is(err, live.ErrExpired) {
			if err = c.reauth(); err == nil {
				continue
			}
		}
		c.finish(err)
		return
	}
}

// reauth asks the client whose credential expired for a new one: it
// sends {"type":"auth_expired"} and, while no event flows, handles the
// client's requests until its auth message (nil: Serve goes on, and ends
// at once if the auth was refused or the scope changed), ReauthGrace
// passes, or the client goes.
func (c *conn) reauth() error {
	if c.lc.Send(appendText(nil, authExpiredFrame)) != nil {
		return live.ErrWrite
	}
	t := time.NewTimer(c.s.reauthGrace)
	defer t.Stop()
	for {
		select {
		case r := <-c.ctrl:
			if b := c.Handle(nil, &c.client, r); c.lc.Send(b) != nil {
				return live.ErrWrite
			}
			if r.kind == reqAuth || r.kind == reqClose {
				return nil
			}
		case <-t.C:
			return &closeError{code: CloseUnauthorized, reason: hub.ReasonAuthExpired, text: "auth_expired: no new token in time"}
		case <-c.readerDone:
			return live.ErrGone
		}
	}
}

var authExpiredFrame = []byte(`{"type":"auth_expired","message":"the token expires: send {\"type\":\"auth\",\"token\":\"<new token>\"} within 10s"}`)

// finish closes the connection after the loop ended with err: with a
// close frame when the client can still read one, and a short wait for
// its answer, so that closing the socket does not reset the connection
// under it.
//
//go:noinline
func (c *conn) finish(err error) {
	reason, code, text := c.closing(err)
	if code != 0 {
		msg := websocket.FormatCloseMessage(code, text)
		if c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.s.WriteTimeout)) == nil {
			t := time.NewTimer(c.s.closeGrace)
			select {
			case <-c.readerDone:
			case <-t.C:
			}
			t.Stop()
		}
	}
	if errors.Is(err, live.ErrGone) && errors.Is(c.readErr, websocket.ErrReadLimit) { // the reader is done
		c.drain()
	}
	_ = c.ws.Close()
	close(c.writerDone)
	c.client.Leave(err)
	c.s.log.Debug("client disconnected", "remote", c.remote, "reason", reason)
}

// closing returns the disconnect reason of the error that ended the loop
// and the close frame to send (code 0: none).
func (c *conn) closing(err error) (reason string, code int, text string) {
	var over *hub.OverflowError
	var ce *closeError
	switch {
	case errors.As(err, &over):
		c.s.log.Info("client disconnected: too slow", "remote", c.remote, "reason", over.Error())
		return hub.ReasonOverflow, CloseTryAgainLater, over.Error()
	case errors.As(err, &ce):
		c.s.log.Debug("client disconnected", "remote", c.remote, "code", ce.code, "reason", ce.text)
		return ce.reason, ce.code, ce.text
	case errors.Is(err, hub.ErrClosed):
		return hub.ReasonShutdown, websocket.CloseGoingAway, "server shutting down"
	case errors.Is(err, live.ErrGone):
		return c.readReason(), 0, ""
	}
	return hub.ReasonWriteError, 0, ""
}

// readReason classifies why the reader stopped. gorilla has already sent
// what a close frame there is to send (its answer to the client's close,
// or 1009 for an oversized message).
func (c *conn) readReason() string {
	err := c.readErr
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return hub.ReasonClientClosed
	case errors.As(err, &ne) && ne.Timeout():
		c.s.log.Debug("client stopped answering pings", "remote", c.remote)
	case errors.Is(err, websocket.ErrReadLimit):
		limitHit("message_bytes")
		c.s.log.Debug("client message too big", "remote", c.remote, "limit", c.s.readLimit)
	}
	return hub.ReasonReadError
}

// drain reads and discards what the client is still sending, for up to
// the close grace, after gorilla refused a message over the read limit
// (1009) at its header: closing the socket with the rest of it unread
// would reset the connection, and the client would see 1006 instead of
// the close frame.
func (c *conn) drain() {
	_ = c.lc.SetReadDeadline(time.Now().Add(c.s.closeGrace))
	_, _ = io.Copy(io.Discard, c.lc.Conn)
}

// AppendEvent implements live.Protocol: {"type":"event","sub":...,"event":...}.
func (c *conn) AppendEvent(b []byte, s *live.Sub, _ hub.Item, e *pipeline.Event) []byte {
	return appendText(b, s.Tag.(*subTag).prefix, e.Encoded(), closeBrace)
}

// AppendReset implements live.Protocol: {"type":"reset",...}.
func (c *conn) AppendReset(b []byte, s *live.Sub, reason string) []byte {
	return appendText(b, appendReset(nil, s.Tag.(*subTag).id, reason))
}

// AppendHeartbeat implements live.Protocol: a ping on every beat, busy or
// not; the client's pongs keep the reader's deadline from expiring.
func (c *conn) AppendHeartbeat(b []byte, _ bool) []byte {
	const fin, opPing = 0x80, 0x9
	return append(b, fin|opPing, 0)
}

// Handle implements live.Protocol: it carries out one client request.
func (c *conn) Handle(b []byte, cl *live.Client[request], r request) []byte {
	switch r.kind {
	case reqError:
		return appendText(b, appendError(nil, r.id, r.problems))
	case reqAuth:
		if c.authed && !sameScope(c.wscope, r.scope) {
			cl.Stop(&closeError{code: CloseForbidden, reason: hub.ReasonForbidden, text: "forbidden: the new token has another scope; reconnect with it"})
			return b
		}
		c.wscope, c.authed = r.scope, true
		cl.SetExpiry(r.scope.DisconnectAt())
		return appendText(b, authenticatedFrame)
	case reqClose:
		cl.Stop(r.close)
		return appendText(b, appendError(nil, "", r.problems))
	case reqUnsubscribe:
		i := find(cl.Subs(), r.id)
		if i < 0 {
			return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "id", Message: "no subscription " + quote(r.id) + " on this connection"}}))
		}
		cl.Remove(i)
		return appendText(b, appendSimple(nil, "unsubscribed", r.id))
	}
	if find(cl.Subs(), r.id) >= 0 {
		return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "id", Message: "subscription " + quote(r.id) + " already exists: unsubscribe it first or use another id"}}))
	}
	if len(cl.Subs()) >= c.s.maxSubs {
		limitHit("subscriptions")
		return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "id", Message: fmt.Sprintf("too many subscriptions: at most %d per connection (server.limits.subscriptions_per_connection)", c.s.maxSubs)}}))
	}
	s := &live.Sub{Tag: &subTag{id: r.id, prefix: eventPrefix(r.id)}, Owner: "/" + r.id}
	reset, err := cl.Subscribe(s, r.scope, r.sub, r.resume)
	if err != nil {
		return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "resume_from", Message: err.Error()}}))
	}
	if r.snapshot {
		stop, problem := c.s.StartSnapshot(cl.OwnerID(s), r.sub, "snapshot")
		if problem != nil {
			c.s.Hub().Unroute(&s.Cur)
			return appendText(b, appendError(nil, r.id, []live.Problem{*problem}))
		}
		s.Stop = stop
	}
	s.Reset = reset
	cl.Add(s)
	// The loop sends the reset, if any, after this and before the
	// subscription's first events.
	return appendText(b, appendSimple(nil, "subscribed", r.id))
}

var authenticatedFrame = []byte(`{"type":"authenticated"}`)

// sameScope reports whether two scopes see the same events.
func sameScope(a, b live.Scope) bool {
	switch {
	case a.Identity == nil || b.Identity == nil:
		return a.Identity == nil && b.Identity == nil
	}
	return a.Identity.Scope.Same(b.Identity.Scope)
}

func find(subs []*live.Sub, id string) int {
	for i, s := range subs {
		if s.Tag.(*subTag).id == id {
			return i
		}
	}
	return -1
}

func quote(s string) string { return string(pipeline.AppendJSONString(nil, s)) }

var closeBrace = []byte{'}'}

// appendText appends an unmasked, final text frame (RFC 6455 §5.2) whose
// payload is the concatenation of parts.
func appendText(b []byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	const fin, opText = 0x80, 0x1
	b = append(b, fin|opText)
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func limitHit(limit string) { live.LimitHit(limit) }

// tokenBucket limits a client's messages: rate per second on average,
// bursts of up to twice as many.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take takes one token at now; false when there is none. rate <= 0 is
// no limit.
func (b *tokenBucket) take(rate float64, now time.Time) bool {
	if rate <= 0 {
		return true
	}
	burst := 2 * rate
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
