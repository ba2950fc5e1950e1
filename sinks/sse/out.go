package sse

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/pgcdc/pgcdc/sinks/live"
)

// headroom is the space kept free at the start of every buffer handed to
// output.Send: the hijacked path writes the chunk header there, so that
// a chunk goes out in one write with no copy.
const headroom = len("ffffffff\r\n")

// output is where a stream's bytes go. Every method is called from the
// stream's goroutine only.
type output interface {
	live.Output // Send(b): sends b[headroom:] and flushes it, within the write timeout
	// begin sends the response head (200 and the headers set on the
	// ResponseWriter) and b[headroom:], the first bytes of the stream.
	begin(b []byte) error
	// gone is closed when the client closes the connection.
	gone() <-chan struct{}
	// finish ends the response: with a proper end when clean, cut
	// otherwise. It is called once, last.
	finish(clean bool)
}

// rawOut writes the response straight to the hijacked HTTP/1.1 connection
// (live.Conn), chunked: one write system call per flush (net/http's
// ResponseWriter makes two or three when a flush holds more than its
// buffers), and none of net/http's per-connection buffers, which an idle
// stream would otherwise hold for its whole life.
type rawOut struct {
	conn   live.Conn
	header http.Header
	closed chan struct{}
}

func newRawOut(conn net.Conn, buffered *bufio.Reader, header http.Header, timeout time.Duration) *rawOut {
	o := &rawOut{header: header, closed: make(chan struct{})}
	o.conn.Init(conn, timeout)
	go o.watch(buffered)
	return o
}

// watch reads until the client closes the connection (or it fails) and
// closes o.closed. An EventSource sends nothing after its request; what a
// client does send is discarded.
func (o *rawOut) watch(buffered *bufio.Reader) {
	defer close(o.closed)
	if n := buffered.Buffered(); n > 0 {
		_, _ = buffered.Discard(n)
	}
	buf := make([]byte, 256)
	for {
		if _, err := o.conn.Read(buf); err != nil {
			return
		}
	}
}

func (o *rawOut) begin(b []byte) error {
	o.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	o.header.Set("Transfer-Encoding", "chunked")
	// The connection ends with the stream: a client must not expect to
	// send another request on it.
	o.header.Set("Connection", "close")
	head := bytes.NewBuffer(make([]byte, 0, 256+len(b)))
	head.WriteString("HTTP/1.1 200 OK\r\n")
	if err := o.header.Write(head); err != nil {
		return err
	}
	o.header = nil
	head.WriteString("\r\n")
	head.Write(chunk(b))
	return o.conn.Send(head.Bytes())
}

func (o *rawOut) Send(b []byte) error {
	if len(b) <= headroom {
		return nil
	}
	return o.conn.Send(chunk(b))
}

// chunk frames b[headroom:] as one chunk of a chunked body, in place: the
// size line goes at the end of the headroom, the CRLF after the data. It
// returns the framed bytes (the CRLF may have moved them to a new array).
func chunk(b []byte) []byte {
	var size [8]byte
	n := strconv.AppendInt(size[:0], int64(len(b)-headroom), 16)
	start := headroom - len(n) - 2
	copy(b[start:], n)
	b[headroom-2], b[headroom-1] = '\r', '\n'
	return append(b[start:], '\r', '\n')
}

func (o *rawOut) gone() <-chan struct{} { return o.closed }

// finish sends the last chunk when clean (a failed connection refuses
// it), then closes the connection. The watcher returns when the close
// fails its read.
func (o *rawOut) finish(clean bool) {
	if clean {
		_ = o.conn.Send([]byte("0\r\n\r\n"))
	}
	_ = o.conn.Close()
}

// httpOut streams through the ResponseWriter, for requests that cannot be
// hijacked.
type httpOut struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	r       *http.Request
	timeout time.Duration
}

func newHTTPOut(w http.ResponseWriter, r *http.Request, timeout time.Duration) *httpOut {
	return &httpOut{w: w, rc: http.NewResponseController(w), r: r, timeout: timeout}
}

func (o *httpOut) begin(b []byte) error {
	o.w.WriteHeader(http.StatusOK)
	return o.Send(b)
}

func (o *httpOut) Send(b []byte) error {
	if err := o.rc.SetWriteDeadline(time.Now().Add(o.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := o.w.Write(b[headroom:]); err != nil {
		return err
	}
	return o.rc.Flush()
}

func (o *httpOut) gone() <-chan struct{} { return o.r.Context().Done() }

// finish does nothing: the response ends when the handler returns.
func (o *httpOut) finish(bool) {}
