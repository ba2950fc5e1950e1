package ws

import (
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Per-cycle limits of a writer: it coalesces up to maxBatch events per
// subscription and maxBytes of event JSON over all of them into one write.
// They bound what a stalled connection holds while its write waits for the
// deadline.
const (
	maxBatch           = 128
	maxBytes           = 32 << 10
	maxRequestsPerTurn = 16
)

// CloseTryAgainLater is the close code sent to a client that fell behind
// (RFC 6455 registry: "Try Again Later").
const CloseTryAgainLater = 1013

var evPool = sync.Pool{New: func() any { s := make([]*pipeline.Event, 0, maxBatch); return &s }}

// subscription is one subscription of a connection, owned by its writer.
type subscription struct {
	id     string
	prefix []byte // the start of its event frames
	sub    *transform.Subscription
	cur    hub.Cursor
}

// conn is one WebSocket connection: a reader goroutine that parses client
// messages into requests, and a writer goroutine that owns the
// subscriptions and writes every frame.
type conn struct {
	s      *Sink
	ws     *websocket.Conn
	bc     *bufConn
	client *hub.Client
	remote string

	ctrl       chan request  // reader → writer
	readerDone chan struct{} // closed when the reader returns
	writerDone chan struct{} // closed when the writer returns
	readErr    error         // why the reader returned; read after readerDone

	// Writer-owned.
	out  []byte   // the frames of the current cycle
	next *request // a request to handle before reading ctrl again
	subs []*subscription
	turn int // rotates which subscription reads first
}

func newConn(s *Sink, wsc *websocket.Conn, bc *bufConn, client *hub.Client, remote string) *conn {
	return &conn{
		s: s, ws: wsc, bc: bc, client: client, remote: remote,
		ctrl:       make(chan request, 4),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// readLoop reads client messages until the connection fails or closes.
// gorilla answers pings, and a client's close frame, itself.
func (c *conn) readLoop() {
	defer close(c.readerDone)
	wait := 2*c.s.heartbeat + c.s.writeTimeout // a ping per heartbeat; its pong may queue behind a write
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
			r = parse(c.s.Hub(), data)
		}
		select {
		case c.ctrl <- r:
		case <-c.writerDone:
			return
		}
	}
}

// writeLoop writes until the connection ends, then closes it.
func (c *conn) writeLoop() {
	reason, code, text := c.serve()
	if code != 0 {
		// The close frame, then a short wait for the client's answer so
		// that closing the socket does not reset the connection under it.
		msg := websocket.FormatCloseMessage(code, text)
		if c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.s.writeTimeout)) == nil {
			t := time.NewTimer(c.s.closeGrace)
			select {
			case <-c.readerDone:
			case <-t.C:
			}
			t.Stop()
		}
	}
	_ = c.ws.Close()
	close(c.writerDone)
	c.client.Leave(reason)
	c.s.log.Debug("client disconnected", "remote", c.remote, "reason", reason)
}

// serve runs the writer's cycles: take requests and events, coalesce,
// write once, wait. It returns the disconnect reason and the close frame
// to send (code 0: none).
func (c *conn) serve() (reason string, code int, text string) {
	beat := c.s.Hub().Beat()
	for {
		// Pings go out on every beat, busy or not: the client's pongs are
		// what keeps the reader's deadline from expiring.
		select {
		case <-c.readerDone:
			return c.readReason()
		case <-beat:
			beat = c.s.Hub().Beat()
			if c.ping() != nil {
				return hub.ReasonWriteError, 0, ""
			}
		default:
		}
		wake, busy, err := c.cycle()
		if err == errSend {
			return hub.ReasonWriteError, 0, ""
		}
		var over *hub.OverflowError
		switch {
		case errors.As(err, &over):
			c.s.log.Info("client disconnected: too slow", "remote", c.remote, "reason", over.Error())
			return hub.ReasonOverflow, CloseTryAgainLater, over.Error()
		case errors.Is(err, hub.ErrClosed):
			return hub.ReasonShutdown, websocket.CloseGoingAway, "server shutting down"
		case err != nil:
			return hub.ReasonWriteError, 0, ""
		case busy:
			continue
		}
		select {
		case r := <-c.ctrl:
			c.next = &r
		case <-wake:
		case <-beat:
			beat = c.s.Hub().Beat()
			if c.ping() != nil {
				return hub.ReasonWriteError, 0, ""
			}
		case <-c.readerDone:
			return c.readReason()
		}
	}
}

func (c *conn) ping() error {
	return c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.writeTimeout))
}

// readReason classifies why the reader stopped. gorilla has already sent
// what a close frame there is to send (its answer to the client's close,
// or 1009 for an oversized message).
func (c *conn) readReason() (string, int, string) {
	err := c.readErr
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return hub.ReasonClientClosed, 0, ""
	case errors.As(err, &ne) && ne.Timeout():
		c.s.log.Debug("client stopped answering pings", "remote", c.remote)
	case errors.Is(err, websocket.ErrReadLimit):
		c.s.log.Debug("client message too big", "remote", c.remote, "limit", c.s.readLimit)
	}
	return hub.ReasonReadError, 0, ""
}

// errSend is cycle's error when the write failed.
var errSend = errors.New("write failed")

// cycle fills a batch and sends it in one write.
func (c *conn) cycle() (wake <-chan struct{}, busy bool, err error) {
	buf := batchPool.Get().(*[]byte)
	c.out = (*buf)[:0]
	wake, busy, err = c.fill()
	if c.bc.Send(c.out) != nil {
		err = errSend
	}
	if cap(c.out) <= maxPooledBatch {
		*buf = c.out[:0]
		batchPool.Put(buf)
	}
	c.out = nil
	return wake, busy, err
}

// fill handles pending requests, then appends the pending events of every
// subscription to the batch. busy reports that there may be more to do at
// once; otherwise the caller waits on wake.
func (c *conn) fill() (wake <-chan struct{}, busy bool, err error) {
	wake, closed := c.s.Hub().Wait()
	for i := 0; i < maxRequestsPerTurn; i++ {
		r := c.next
		if r == nil {
			select {
			case req := <-c.ctrl:
				r = &req
			default:
			}
		}
		if r == nil {
			break
		}
		c.next = nil
		c.handle(r)
		busy = true
	}
	if closed && len(c.subs) == 0 {
		return wake, false, hub.ErrClosed
	}
	buf := evPool.Get().(*[]*pipeline.Event)
	defer evPool.Put(buf)
	var n, ended, pending, used int
	var oldest time.Time
	c.turn++
	for i := range c.subs {
		s := c.subs[(c.turn+i)%len(c.subs)]
		if used >= maxBytes {
			busy = true // the rest waits for the next turn
			break
		}
		evs, _, err := c.s.Hub().Next(&s.cur, (*buf)[:0], maxBytes-used)
		if errors.Is(err, hub.ErrClosed) {
			ended++
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if len(evs) > 0 {
			busy = true
		}
		for _, e := range evs {
			used += len(e.Encoded())
			if s.sub != nil {
				if e = s.sub.Apply(e); e == nil {
					continue
				}
			}
			c.out = appendText(c.out, s.prefix, e.Encoded(), closeBrace)
			if n == 0 {
				oldest = e.CommitTime
			}
			n++
		}
		clear(evs) // drop the event pointers before the buffer goes back to the pool
		pending = max(pending, s.cur.Pending())
	}
	c.s.Hub().Delivered(n, oldest)
	c.client.SetPending(pending)
	if ended > 0 && ended == len(c.subs) {
		return wake, false, hub.ErrClosed
	}
	return wake, busy, nil
}

// handle carries out one client request.
func (c *conn) handle(r *request) {
	switch r.kind {
	case reqError:
		c.writeFrame(appendError(nil, r.id, r.problems))
		return
	case reqUnsubscribe:
		i := c.find(r.id)
		if i < 0 {
			c.writeFrame(appendError(nil, r.id, []hub.Problem{{Param: "id", Message: "no subscription " + quote(r.id) + " on this connection"}}))
			return
		}
		c.subs = slices.Delete(c.subs, i, i+1)
		c.writeFrame(appendSimple(nil, "unsubscribed", r.id))
		return
	}
	if c.find(r.id) >= 0 {
		c.writeFrame(appendError(nil, r.id, []hub.Problem{{Param: "id", Message: "subscription " + quote(r.id) + " already exists: unsubscribe it first or use another id"}}))
		return
	}
	if len(c.subs) >= MaxSubscriptions {
		c.writeFrame(appendError(nil, r.id, []hub.Problem{{Param: "id", Message: "too many subscriptions: at most 64 per connection"}}))
		return
	}
	cur, reset, err := c.s.Hub().Seek(r.resume)
	if err != nil {
		c.writeFrame(appendError(nil, r.id, []hub.Problem{{Param: "resume_from", Message: err.Error()}}))
		return
	}
	c.subs = append(c.subs, &subscription{id: r.id, prefix: eventPrefix(r.id), sub: r.sub, cur: cur})
	c.writeFrame(appendSimple(nil, "subscribed", r.id))
	if reset != "" {
		c.writeFrame(appendReset(nil, r.id, reset))
	}
}

func (c *conn) find(id string) int {
	return slices.IndexFunc(c.subs, func(s *subscription) bool { return s.id == id })
}

func quote(s string) string { return string(pipeline.AppendJSONString(nil, s)) }

var closeBrace = []byte{'}'}

// writeFrame adds message b to the cycle's batch.
func (c *conn) writeFrame(b []byte) { c.out = appendText(c.out, b) }
