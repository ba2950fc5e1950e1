package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// batchPool holds the buffers writers coalesce frames into.
var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledBatch is the largest buffer returned to batchPool.
const maxPooledBatch = 256 << 10

// bufConn is the hijacked connection under a gorilla *websocket.Conn. It
// lets the writer goroutine coalesce: between Begin and Flush every frame
// gorilla writes (from any goroutine: data frames, pongs, close frames) is
// appended to one buffer, and Flush sends it with a single write. Outside
// a batch, writes go straight to the connection. Every write to the
// network carries its own deadline of timeout; SetWriteDeadline from
// gorilla is therefore ignored.
type bufConn struct {
	net.Conn
	timeout time.Duration

	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

// Write implements net.Conn.
func (c *bufConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		*c.buf = append(*c.buf, p...)
		return len(p), nil
	}
	return c.writeLocked(p)
}

func (c *bufConn) writeLocked(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline implements net.Conn; see bufConn.
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline implements net.Conn: it sets the read deadline only.
func (c *bufConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Begin starts a batch.
func (c *bufConn) Begin() {
	c.mu.Lock()
	c.batching = true
	c.buf = batchPool.Get().(*[]byte)
	*c.buf = (*c.buf)[:0]
	c.mu.Unlock()
}

// Flush ends the batch and writes what it holds. It returns the number of
// bytes written.
func (c *bufConn) Flush() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		return 0, nil
	}
	c.batching = false
	var n int
	var err error
	if len(*c.buf) > 0 {
		n, err = c.writeLocked(*c.buf)
	}
	if cap(*c.buf) <= maxPooledBatch {
		batchPool.Put(c.buf)
	}
	c.buf = nil
	return n, err
}

// hijackWriter hands gorilla's Upgrade a bufConn in place of the raw
// connection. gorilla asserts http.Hijacker on the ResponseWriter it gets.
type hijackWriter struct {
	http.ResponseWriter
	timeout time.Duration
	conn    *bufConn
}

// Hijack implements http.Hijacker.
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &bufConn{Conn: c, timeout: h.timeout}
	return h.conn, rw, nil
}
