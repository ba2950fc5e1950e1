package live

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// measuredWindow is shared by the clients of one run: events committed at or
// after start (Unix microseconds) are measured. It is math.MaxInt64 until
// the warmup ends.
type measuredWindow struct{ start atomic.Int64 }

// client is one SSE or WebSocket client of pgcdc bench live. Its
// goroutine owns hist, window, lastID and err until done is closed;
// received may be read at any time.
type client struct {
	win      *measuredWindow
	received atomic.Int64 // events received, all of them
	window   int64        // events received that were committed in the window
	hist     latencyHist
	lastID   [32]byte
	lastLen  int
	err      error     // why the stream ended or what was wrong with it; nil if fine
	readAt   time.Time // when the last read from the connection returned
	stopping atomic.Bool
	conn     atomic.Pointer[net.Conn]
	done     chan struct{}
	// tenant and token are set for a scoped run; want and wantWindow
	// (the events of the run, of its measured window, it must receive)
	// once the writer is done.
	tenant           int
	token            string
	want, wantWindow int64
}

func newClient(win *measuredWindow) *client {
	return &client{win: win, done: make(chan struct{})}
}

// close ends the client's stream on purpose: its end is not an error.
func (c *client) close() {
	c.stopping.Store(true)
	if p := c.conn.Load(); p != nil {
		_ = (*p).Close()
	}
}

// fail records the first error. An error after close is the bench's doing
// and not recorded.
func (c *client) fail(err error) {
	if c.err == nil && !c.stopping.Load() {
		c.err = err
	}
}

// event records one event: its id must sort after the previous one (ids
// are fixed-width hexadecimal, so bytes order them), and its commit_time
// gives the latency.
func (c *client) event(id, data []byte, now time.Time) {
	if len(id) == 0 || len(id) > len(c.lastID) {
		c.fail(fmt.Errorf("event without a valid id: %.80q", data))
		return
	}
	if bytes.Compare(id, c.lastID[:c.lastLen]) <= 0 {
		c.fail(fmt.Errorf("event %s after %s: out of order or repeated", id, c.lastID[:c.lastLen]))
	}
	c.lastLen = copy(c.lastID[:], id)
	c.received.Add(1)
	commit, err := commitTimeOf(data)
	if err != nil {
		c.fail(err)
		return
	}
	if commit < c.win.start.Load() {
		return
	}
	c.window++
	c.hist.add(now.Sub(time.UnixMicro(commit)))
}

var commitTimeKey = []byte(`"commit_time":"`)

// commitTimeOf finds "commit_time" in an event's JSON and returns it in
// Unix microseconds.
func commitTimeOf(data []byte) (int64, error) {
	i := bytes.Index(data, commitTimeKey)
	if i < 0 {
		return 0, fmt.Errorf("event without commit_time: %.80q", data)
	}
	rest := data[i+len(commitTimeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, fmt.Errorf("unterminated commit_time: %.80q", data)
	}
	if us, ok := parseMicrosUTC(rest[:j]); ok {
		return us, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	if err != nil {
		return 0, fmt.Errorf("commit_time: %w", err)
	}
	return t.UnixMicro(), nil
}

// parseMicrosUTC parses the layout pgcdc writes,
// 2006-01-02T15:04:05.000000Z, without allocating. ok is false for any
// other layout (the caller falls back to time.Parse).
func parseMicrosUTC(b []byte) (int64, bool) {
	if len(b) != 27 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[26] != 'Z' {
		return 0, false
	}
	num := func(s []byte) (int64, bool) {
		var n int64
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	us, ok7 := num(b[20:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	// A day past the month's end would roll over: time.Parse rejects it,
	// so do we. time.Date neither allocates nor looks up a zone for UTC.
	if d > 28 && d > int64(daysIn(time.Month(mo), int(y))) {
		return 0, false
	}
	return time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), int(s), int(us)*1000, time.UTC).UnixMicro(), true
}

// daysIn returns the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// runSSE connects to the SSE endpoint with a plain net/http request on one
// connection, calls ready once the response head arrived (or with the
// error), then reads the stream until it ends. Only net/http is used: the
// request is written with Request.Write and the response read with
// http.ReadResponse, so each client costs one goroutine.
func (c *client) runSSE(addr string, ready func(error)) {
	defer close(c.done)
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		ready(fmt.Errorf("connect: %w", err))
		return
	}
	var conn net.Conn = &stampConn{Conn: raw, at: &c.readAt}
	c.conn.Store(&conn)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/events?table=public.ticks", nil)
	if err != nil {
		ready(err)
		return
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if err := req.Write(conn); err != nil {
		ready(fmt.Errorf("send request: %w", err))
		return
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, readBuffer), req)
	if err != nil {
		ready(fmt.Errorf("read response: %w", err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		ready(fmt.Errorf("GET /events: %s: %s", resp.Status, bytes.TrimSpace(body)))
		return
	}
	_ = conn.SetDeadline(time.Time{})
	ready(nil)
	c.readSSE(bufio.NewReaderSize(resp.Body, readBuffer))
}

// readSSE parses the SSE stream: id and data lines make an event; a named
// message (reset, disconnect) is an error; comments and retry are skipped.
func (c *client) readSSE(r *bufio.Reader) {
	var id [32]byte
	var idLen int
	var name string
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				c.fail(fmt.Errorf("SSE line longer than %d bytes", r.Size()))
			case errors.Is(err, io.EOF):
				c.fail(errors.New("SSE stream ended"))
			default:
				c.fail(fmt.Errorf("SSE stream: %w", err))
			}
			return
		}
		line = line[:len(line)-1]
		switch {
		case len(line) == 0:
			idLen, name = 0, ""
		case bytes.HasPrefix(line, []byte("data: ")):
			if name != "" {
				c.fail(fmt.Errorf("SSE event %q: %s", name, line[6:]))
				return
			}
			c.event(id[:idLen], line[6:], c.readAt)
		case bytes.HasPrefix(line, []byte("id: ")):
			idLen = copy(id[:], line[4:])
		case bytes.HasPrefix(line, []byte("event: ")):
			name = string(line[7:])
		}
	}
}

var (
	wsSubscribe  = []byte(`{"type":"subscribe","id":"t","table":["public.ticks"]}`)
	wsEventHead  = []byte(`{"type":"event","sub":"t","event":{"id":"`)
	wsSubscribed = []byte(`{"type":"subscribed","id":"t"}`)
)

// readBuffer is the read buffer of each client: large enough that a
// client that fell behind catches up in few reads.
const readBuffer = 16 << 10

// stampConn notes when each read returned: an event's receive time is the
// end of the read that brought its last byte, which costs one clock read
// per read instead of one per event. Only the client's goroutine reads.
type stampConn struct {
	net.Conn
	at *time.Time
}

func (s *stampConn) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if n > 0 {
		*s.at = time.Now()
	}
	return n, err
}

// runWS connects to the WebSocket endpoint, subscribes to public.ticks,
// calls ready once the subscription is confirmed (or with the error), then
// reads events until the connection ends.
func (c *client) runWS(addr string, ready func(error)) {
	defer close(c.done)
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: readBuffer, WriteBufferSize: 512,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &stampConn{Conn: conn, at: &c.readAt}, nil
		}}
	var header http.Header
	if c.token != "" {
		header = http.Header{"Authorization": {"Bearer " + c.token}}
	}
	ws, _, err := dialer.Dial("ws://"+addr+"/ws", header)
	if err != nil {
		ready(fmt.Errorf("websocket handshake: %w", err))
		return
	}
	conn := ws.NetConn()
	c.conn.Store(&conn)
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, wsSubscribe); err != nil {
		ready(fmt.Errorf("subscribe: %w", err))
		return
	}
	var buf bytes.Buffer
	if err := readWS(ws, &buf); err != nil {
		ready(fmt.Errorf("subscribe answer: %w", err))
		return
	}
	if !bytes.Equal(buf.Bytes(), wsSubscribed) {
		ready(fmt.Errorf("subscribe answer: %.200s", buf.Bytes()))
		return
	}
	_ = ws.SetReadDeadline(time.Time{}) // the server pings; gorilla answers
	ready(nil)
	for {
		if err := readWS(ws, &buf); err != nil {
			c.fail(fmt.Errorf("websocket: %w", err))
			return
		}
		msg := buf.Bytes()
		if !bytes.HasPrefix(msg, wsEventHead) {
			c.fail(fmt.Errorf("websocket message: %.200s", msg))
			return
		}
		id := msg[len(wsEventHead):]
		if k := bytes.IndexByte(id, '"'); k >= 0 {
			id = id[:k]
		}
		c.event(id, msg, c.readAt)
	}
}

// readWS reads the next text message into buf, reusing its memory.
func readWS(ws *websocket.Conn, buf *bytes.Buffer) error {
	typ, r, err := ws.NextReader()
	if err != nil {
		return err
	}
	if typ != websocket.TextMessage {
		return fmt.Errorf("unexpected message type %d", typ)
	}
	buf.Reset()
	_, err = buf.ReadFrom(r)
	return err
}
