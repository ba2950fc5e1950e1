package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// CloseTryAgainLater is the close code sent to a client that fell behind
// (RFC 6455 registry: "Try Again Later").
const CloseTryAgainLater = 1013

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
	scope  live.Scope
	remote string

	ctrl       chan request  // reader → writer
	readerDone chan struct{} // closed when the reader returns
	writerDone chan struct{} // closed when the writer returns
	readErr    error         // why the reader returned; read after readerDone
}

var _ live.Protocol[request] = (*conn)(nil)

func newConn(s *Sink, wsc *websocket.Conn, lc *live.Conn, reg *hub.Client, scope live.Scope, remote string) *conn {
	c := &conn{
		s: s, ws: wsc, lc: lc, scope: scope, remote: remote,
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
	extend := func() { _ = c.ws.SetReadDeadline(time.Now().Add(wait)) }
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		extend()
		var r request
		if typ != websocket.TextMessage {
			r = fail("", "message", "binary messages are not supported: send JSON text")
		} else {
			// A catalog refresh is bounded by hub.Compile itself.
			r = parse(context.Background(), c.s.Hub(), c.scope, data)
		}
		select {
		case c.ctrl <- r:
		case <-c.writerDone:
			return
		}
	}
}

// writeLoop runs the client loop until the connection ends, then closes
// it. Its frame stays on the goroutine's stack while the connection
// waits, so the ending is in finish.
func (c *conn) writeLoop() { c.finish(c.client.Serve(c.lc, c.readerDone)) }

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
	switch {
	case errors.As(err, &over):
		c.s.log.Info("client disconnected: too slow", "remote", c.remote, "reason", over.Error())
		return hub.ReasonOverflow, CloseTryAgainLater, over.Error()
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
	if len(cl.Subs()) >= MaxSubscriptions {
		return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "id", Message: "too many subscriptions: at most 64 per connection"}}))
	}
	cur, reset, err := c.s.Hub().Seek(r.resume)
	if err != nil {
		return appendText(b, appendError(nil, r.id, []live.Problem{{Param: "resume_from", Message: err.Error()}}))
	}
	cl.Add(&live.Sub{T: r.t, Cur: cur, Reset: reset, Tag: &subTag{id: r.id, prefix: eventPrefix(r.id)}})
	// The loop sends the reset, if any, after this and before the
	// subscription's first events.
	return appendText(b, appendSimple(nil, "subscribed", r.id))
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
