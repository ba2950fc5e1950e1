package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
	"github.com/pgcdc/pgcdc/sinks/live/livetest"
)

func newSink(t testing.TB, b config.Broadcast) (*Sink, *httptest.Server, *hubtest.Feeder) {
	t.Helper()
	s, err := New(testConfig("ws", b), hubtest.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	f := hubtest.Run(t, context.Background(), s)
	t.Cleanup(srv.Close)
	return s, srv, f
}

// testConfig is the config of a WebSocket sink named name with b and the
// defaults, as wiring builds it.
func testConfig(name string, b config.Broadcast) Config {
	st, b := livetest.Settings(config.TypeWebSocket, b)
	return Config{Name: name, Settings: st, MaxMessageBytes: b.MaxMessageBytes}
}

func wsURL(srv *httptest.Server, query string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/" + query
}

// client is a test WebSocket client.
type client struct {
	t testing.TB
	c *websocket.Conn
}

func dial(t testing.TB, srv *httptest.Server, query string) *client {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(wsURL(srv, query), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c}
}

// msg is any server message.
type msg struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Sub     string          `json:"sub"`
	Reason  string          `json:"reason"`
	Message string          `json:"message"`
	Errors  []live.Problem  `json:"errors"`
	Event   json.RawMessage `json:"event"`
}

// eventID returns the id of an event message.
func (m msg) eventID() string {
	var e struct{ ID string }
	_ = json.Unmarshal(m.Event, &e)
	return e.ID
}

func (c *client) send(v any) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.c.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) sendRaw(typ int, b []byte) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.c.WriteMessage(typ, b); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one message within 5 s.
func (c *client) read() msg {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, b, err := c.c.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("message type %d, want text", typ)
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", b, err)
	}
	return m
}

// expect reads one message and checks its type and id/sub.
func (c *client) expect(typ, id string) msg {
	c.t.Helper()
	m := c.read()
	if m.Type != typ || (m.ID != id && m.Sub != id) {
		c.t.Fatalf("got %+v, want %s for %q", m, typ, id)
	}
	return m
}

// subscribe sends a subscribe message and waits for subscribed.
func (c *client) subscribe(id string, fields map[string]any) {
	c.t.Helper()
	m := map[string]any{"type": "subscribe", "id": id}
	for k, v := range fields {
		m[k] = v
	}
	c.send(m)
	c.expect("subscribed", id)
}

// events reads n event messages and returns their ids by subscription.
func (c *client) events(n int) map[string][]string {
	c.t.Helper()
	out := map[string][]string{}
	for i := 0; i < n; i++ {
		m := c.read()
		if m.Type != "event" {
			c.t.Fatalf("got %+v, want an event", m)
		}
		out[m.Sub] = append(out[m.Sub], m.eventID())
	}
	return out
}

// closeCode reads until the connection closes and returns the close code
// and text the server sent.
func (c *client) closeCode() (int, string, []msg) {
	c.t.Helper()
	var before []msg
	for {
		c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("connection ended without a close frame: %v", err)
			}
			return ce.Code, ce.Text, before
		}
		var m msg
		_ = json.Unmarshal(b, &m)
		before = append(before, m)
	}
}

func idList(evs ...*pipeline.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID()
	}
	return out
}

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

func httpGet(t testing.TB, url string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header = header
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
