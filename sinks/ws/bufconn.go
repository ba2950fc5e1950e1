package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/sinks/hub"
)

// batchPool holds the buffers writers build a cycle's frames in.
var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledBatch is the largest buffer returned to batchPool.
const maxPooledBatch = 256 << 10

// bufConn is the hijacked connection under a gorilla *websocket.Conn. The
// writer goroutine builds each cycle's text frames itself (appendText) and
// sends them with one write (Send); gorilla writes only control frames
// (pings, pongs, close) through Write. Every write is bounded by a write
// deadline the connection keeps (hub.WriteDeadline); SetWriteDeadline from
// gorilla is therefore ignored. The mutex serialises the writes and the
// deadline.
type bufConn struct {
	net.Conn

	mu       sync.Mutex
	deadline hub.WriteDeadline
}

// Write implements net.Conn, for gorilla's control frames.
func (c *bufConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.deadline.Arm(c.Conn); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// Send writes a cycle's frames.
func (c *bufConn) Send(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_, err := c.Write(p)
	return err
}

// SetWriteDeadline implements net.Conn; see bufConn.
func (c *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline implements net.Conn: it sets the read deadline only.
func (c *bufConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

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
	h.conn = &bufConn{Conn: c, deadline: hub.NewWriteDeadline(h.timeout)}
	return h.conn, rw, nil
}
