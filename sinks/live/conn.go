package live

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrSealed is Conn.Write's error after WriteLast: the protocol's last
// frame was written, and nothing may follow it.
var ErrSealed = errors.New("connection sealed: its last frame was written")

// Conn is a hijacked HTTP/1.1 connection that a live stream writes to
// itself, without net/http's per-connection buffers (which an idle stream
// would hold for its whole life) and with one write system call per
// flush. Every write is bounded by a write deadline the Conn keeps
// (WriteDeadline), so SetWriteDeadline is ignored; writes are serialised
// by a mutex, so a protocol library (gorilla's control frames) and the
// stream's writer can share it; and once WriteLast has written the
// protocol's last frame (a WebSocket close), every later Write fails with
// ErrSealed, decided under the same lock as the write.
type Conn struct {
	net.Conn

	mu       sync.Mutex
	deadline WriteDeadline
	sealed   bool
	failed   bool // a write failed: the connection is of no more use
}

// NewConn returns a Conn over a hijacked connection whose writes are each
// bounded by timeout (up to a second more).
func NewConn(c net.Conn, timeout time.Duration) *Conn {
	lc := new(Conn)
	lc.Init(c, timeout)
	return lc
}

// Init makes the zero Conn, held by value in a bigger struct, a Conn over
// c (see NewConn). It must be called before any other method, once.
func (c *Conn) Init(nc net.Conn, timeout time.Duration) {
	c.Conn, c.deadline = nc, NewWriteDeadline(timeout)
}

// Write implements net.Conn: it writes p whole within the write timeout,
// unless the connection is sealed or a previous write failed.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.write(p)
}

// WriteLast writes p, the protocol's last frame, and seals the connection.
// It fails like Write when already sealed.
func (c *Conn) WriteLast(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.write(p)
	c.sealed = true
	return n, err
}

func (c *Conn) write(p []byte) (int, error) {
	switch {
	case c.sealed:
		return 0, ErrSealed
	case c.failed:
		return 0, net.ErrClosed
	}
	err := c.deadline.Arm(c.Conn)
	n := 0
	if err == nil {
		n, err = c.Conn.Write(p)
	}
	c.failed = err != nil
	return n, err
}

// Send writes b whole; an empty b is not written.
func (c *Conn) Send(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := c.Write(b)
	return err
}

// SetWriteDeadline implements net.Conn; see Conn.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline implements net.Conn: it sets the read deadline only.
func (c *Conn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Hijack takes over the connection of an HTTP/1.1 request, for a stream
// written on the connection itself (put it in a Conn). It returns nil when
// that is not possible (HTTP/1.0 or 2, a ResponseWriter that cannot
// hijack): the caller then streams through the ResponseWriter. The
// returned reader holds what the client sent after its request.
func Hijack(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader) {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		return nil, nil
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil
	}
	return c, rw.Reader
}

// HijackWriter is a ResponseWriter whose Hijack hands out a *Conn (through
// Wrap, when set) in place of the raw connection: what a library that
// hijacks the request itself (gorilla's Upgrade) then writes to goes
// through the Conn's deadline and lock. After Hijack, Conn is set.
type HijackWriter struct {
	http.ResponseWriter
	Timeout time.Duration
	// Wrap, when not nil, wraps the Conn handed to the library.
	Wrap func(*Conn) net.Conn
	Conn *Conn
}

// Hijack implements http.Hijacker.
func (h *HijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.Conn = NewConn(c, h.Timeout)
	if h.Wrap != nil {
		return h.Wrap(h.Conn), rw, nil
	}
	return h.Conn, rw, nil
}
