package sse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live/livetest"
)

// newSink returns a running SSE sink behind a loopback test server, and
// the feeder of its input.
func newSink(t testing.TB, b config.Broadcast) (*Sink, *httptest.Server, *hubtest.Feeder) {
	t.Helper()
	s, err := New(testConfig("live", b), hubtest.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	f := hubtest.Run(t, context.Background(), s)
	t.Cleanup(srv.Close) // runs before the feeder's cleanup (LIFO)
	return s, srv, f
}

// testConfig is the config of an SSE sink named name with b and the
// defaults, as wiring builds it.
func testConfig(name string, b config.Broadcast) Config {
	st, b := livetest.Settings(config.TypeSSE, b)
	return Config{Name: name, Settings: st, ClientRetry: b.ClientRetry, EventNames: b.EventNames}
}

// rawClient reads an event stream over a plain TCP connection, with
// net/http only for the status line, headers and chunked framing.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	resp *http.Response
	r    *bufio.Reader
}

// message is one SSE block: the fields of one message, or a comment.
type message struct {
	id, event, data, retry, comment string
	hasID                           bool
}

func dial(t testing.TB, srv *httptest.Server, query string, header http.Header) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var hdr strings.Builder
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(conn, "GET /%s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n%s\r\n", query, srv.Listener.Addr(), hdr.String())
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, conn: conn, resp: resp, r: bufio.NewReader(resp.Body)}
}

// line reads one line of the body, within 5 s.
func (c *rawClient) line() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.r.ReadString('\n')
}

// next reads one message or comment block.
func (c *rawClient) next() message {
	c.t.Helper()
	var m message
	for {
		l, err := c.line()
		if err != nil {
			c.t.Fatalf("reading the stream: %v (partial message %+v)", err, m)
		}
		l = strings.TrimSuffix(l, "\n")
		if l == "" {
			return m
		}
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "":
			m.comment = value
		case "id":
			m.id, m.hasID = value, true
		case "event":
			m.event = value
		case "retry":
			m.retry = value
		case "data":
			if m.data != "" {
				m.data += "\n"
			}
			m.data += value
		default:
			c.t.Fatalf("unexpected field line %q", l)
		}
	}
}

// events reads n messages that carry an id, skipping comments, and
// returns their ids.
func (c *rawClient) events(n int) []string {
	c.t.Helper()
	var out []string
	for len(out) < n {
		m := c.next()
		if m.comment != "" || m.retry != "" {
			continue
		}
		if !m.hasID {
			c.t.Fatalf("message without id: %+v", m)
		}
		out = append(out, m.id)
	}
	return out
}

// expectEnd reads to the end of the body and fails if an event arrives.
func (c *rawClient) expectEnd() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(c.r)
	if err != nil {
		c.t.Fatalf("stream did not end cleanly: %v (read %q)", err, rest)
	}
	if strings.Contains(string(rest), "id:") {
		c.t.Fatalf("unexpected events before the end: %q", rest)
	}
}

func idList(evs []*pipeline.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

// waitClients waits until the hub counts n clients.
func waitClients(t testing.TB, s *Sink, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Hub().Stats().Clients != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients connected, want %d", s.Hub().Stats().Clients, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func contextWithTimeout(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
