package hub

import (
	"strconv"
	"sync"
	"sync/atomic"
)

// Disconnect reasons, the values of the reason label of
// pgcdc_broadcast_disconnects_total.
const (
	ReasonClientClosed = "client_closed" // the client went away or closed the stream
	ReasonOverflow     = "overflow"      // the client fell too far behind
	ReasonWriteError   = "write_error"   // a write failed or timed out
	ReasonReadError    = "read_error"    // WebSocket: a bad frame, a read limit, a missed pong
	ReasonShutdown     = "shutdown"      // the sink or the server is shutting down
	ReasonAuthExpired  = "auth_expired"  // the client's credential expired (and was not renewed)
	ReasonForbidden    = "forbidden"     // a WebSocket re-authenticated with a token of another scope
)

// Client is one connection registered with the hub. Registration is what
// the connected-clients gauge counts and what a graceful shutdown waits for.
type Client struct {
	h       *Hub
	id      string // names the client to events meant for it alone (pipeline.Event.Client)
	pending atomic.Int64
	once    sync.Once
	wake    chan struct{} // routed cursors' wake-ups; made by wakeChan under h.mu
}

// wakeChan returns the channel that wakes the client's routed cursors
// (one per client, so that a reader waits on one channel whatever its
// number of subscriptions). It is called from the client's goroutine.
func (c *Client) wakeChan() chan struct{} {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
	}
	return c.wake
}

// signal wakes the client's routed cursors; h.mu must be held.
func (c *Client) signal() {
	if c.wake != nil {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Register adds a client. It returns ErrClosed once the hub is closed: the
// sink answers 503 to new connections during shutdown.
func (h *Hub) Register() (*Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	h.nextClient++
	c := &Client{h: h, id: h.name + "/" + strconv.FormatUint(h.nextClient, 10)}
	h.clients[c] = struct{}{}
	h.met.clients.Inc()
	return c, nil
}

// ID names the client to the events meant for it alone
// (pipeline.Event.Client): a snapshot it asked for.
func (c *Client) ID() string { return c.id }

// SetPending records the client's queue depth (the largest Cursor.Pending
// of its cursors), for the queue-depth gauge.
func (c *Client) SetPending(n int) { c.pending.Store(int64(n)) }

// Leave unregisters the client, counting the disconnect under reason (one
// of the Reason constants). Calls after the first do nothing.
func (c *Client) Leave(reason string) {
	c.once.Do(func() {
		h := c.h
		h.mu.Lock()
		delete(h.clients, c)
		if h.closed && len(h.clients) == 0 {
			close(h.idle)
		}
		h.mu.Unlock()
		h.met.clients.Dec()
		h.met.disconnect(reason)
	})
}

// maxPending returns the largest queue depth of any client.
func (h *Hub) maxPending() int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var m int64
	for c := range h.clients {
		m = max(m, c.pending.Load())
	}
	return m
}
