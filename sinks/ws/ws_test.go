package ws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

func TestSubscriptions(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{})
	c := dial(t, srv, "")
	c.subscribe("inserts", map[string]any{"table": []string{"public.orders"}, "op": []string{"insert"}})
	c.subscribe("users", map[string]any{"table": "users"}) // one string is accepted too
	c.subscribe("paid", map[string]any{"table": []string{"orders"}, "filter": []string{"status=eq.paid", "total=gt.50"}, "select": []string{"id,status"}})
	c.subscribe("everything", nil)
	evs := []*pipeline.Event{
		hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "new", 10),
		hubtest.User(g.Next(), 0, 1, "ann"),
		hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 1, "paid", 10),
		hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 2, "paid", 90),
		hubtest.Order(g.Next(), 0, pipeline.OpInsert, 3, "paid", 70),
	}
	f.Send(evs...)
	want := map[string][]string{
		"inserts":    idList(evs[0], evs[4]),
		"users":      idList(evs[1]),
		"paid":       idList(evs[3], evs[4]),
		"everything": idList(evs...),
	}
	got := c.events(2 + 1 + 2 + 5)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}

	// Projection: the paid subscription sees id and status only.
	c.send(map[string]any{"type": "unsubscribe", "id": "everything"})
	c.expect("unsubscribed", "everything")
	c.send(map[string]any{"type": "unsubscribe", "id": "inserts"})
	c.expect("unsubscribed", "inserts")
	e := hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 4, "paid", 99)
	f.Send(e)
	m := c.expect("event", "paid") // nothing for the unsubscribed ones before it
	var ev struct {
		ID    string
		After map[string]any
	}
	if err := json.Unmarshal(m.Event, &ev); err != nil || ev.ID != e.ID() || len(ev.After) != 2 || ev.After["status"] != "paid" {
		t.Fatalf("projected event %s: %+v (%v)", m.Event, ev, err)
	}
	u := hubtest.User(g.Next(), 0, 2, "bob")
	f.Send(u)
	if m := c.expect("event", "users"); m.eventID() != u.ID() {
		t.Fatalf("got %s, want %s", m.eventID(), u.ID())
	}
}

func TestQueryOpensDefault(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{})
	c := dial(t, srv, "?table=public.users&op=insert")
	c.expect("subscribed", "default")
	o, u := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "new", 1), hubtest.User(g.Next(), 0, 1, "ann")
	f.Send(o, u)
	if m := c.expect("event", "default"); m.eventID() != u.ID() {
		t.Fatalf("default got %s", m.eventID())
	}

	// Without subscription parameters, a connection starts with none.
	plain := dial(t, srv, "")
	plain.subscribe("s1", nil)

	bad := dial(t, srv, "?tables=orders")
	if m := bad.expect("error", "default"); len(m.Errors) != 1 || m.Errors[0].Param != "tables" {
		t.Fatalf("unknown query parameter: %+v", m)
	}
}

func TestResumeAndReset(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{Replay: config.Replay{MaxEvents: 10}})
	evs := g.Orders(0, 30)
	c := dial(t, srv, "")
	c.subscribe("s", nil)
	f.Send(evs[:5]...)
	last := c.events(5)["s"][4]
	c.c.Close()
	f.Send(evs[5:9]...)
	f.Wait()

	c2 := dial(t, srv, "")
	c2.subscribe("again", map[string]any{"resume_from": last})
	if got := c2.events(4)["again"]; fmt.Sprint(got) != fmt.Sprint(idList(evs[5:9]...)) {
		t.Fatalf("resume got %v", got)
	}
	// The URL's resume_from resumes the default subscription.
	c3 := dial(t, srv, "?resume_from="+evs[6].ID())
	c3.expect("subscribed", "default")
	if got := c3.events(2)["default"]; fmt.Sprint(got) != fmt.Sprint(idList(evs[7:9]...)) {
		t.Fatalf("query resume got %v", got)
	}

	for i := 9; i < 30; i += 3 { // the buffer ends up holding 20..29
		f.Send(evs[i : i+3]...)
		c2.events(3)
	}
	c2.subscribe("old", map[string]any{"resume_from": evs[3].ID()})
	if m := c2.expect("reset", "old"); !strings.Contains(m.Reason, "older than the replay buffer") {
		t.Fatalf("reset reason %q", m.Reason)
	}
	n := g.Orders(100, 1)
	f.Send(n...)
	got := c2.events(2)
	if got["old"][0] != n[0].ID() || got["again"][0] != n[0].ID() {
		t.Fatalf("after reset: %v", got)
	}
}

func TestBadInput(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{})
	c := dial(t, srv, "")
	c.subscribe("taken", nil)
	tests := []struct {
		name, raw, id, param, want string
	}{
		{"bad JSON", `{"type":"subscribe",`, "", "message", "invalid JSON"},
		{"not an object", `[1,2]`, "", "message", "want a JSON object"},
		{"unknown type", `{"type":"subscrib","id":"s1"}`, "s1", "type", `unknown message type "subscrib"`},
		{"missing type", `{"id":"s1"}`, "s1", "type", "missing"},
		{"missing id", `{"type":"subscribe"}`, "", "id", "missing"},
		{"unknown field", `{"type":"subscribe","id":"s1","tables":["orders"]}`, "", "tables", "unknown field"},
		{"wrong type", `{"type":"subscribe","id":"s1","table":5}`, "s1", "table", "want a string or an array"},
		{"id not a string", `{"type":"subscribe","id":1}`, "", "id", "want a string"},
		{"bad filter", `{"type":"subscribe","id":"s1","filter":["total=gtx.5"]}`, "s1", "filter", `unknown operator "gtx"`},
		{"filter unknown column", `{"type":"subscribe","id":"s1","table":"orders","filter":["nope=eq.1"]}`, "s1", "filter", "unknown column"},
		{"select unknown column", `{"type":"subscribe","id":"s1","table":"orders","select":["id","nope"]}`, "s1", "select", "unknown column"},
		{"unknown table", `{"type":"subscribe","id":"s1","table":["public.nope"]}`, "s1", "table", "not published"},
		{"unknown op", `{"type":"subscribe","id":"s1","op":["upsert"]}`, "s1", "op", `unknown op "upsert"`},
		{"bad resume_from", `{"type":"subscribe","id":"s1","resume_from":"12"}`, "s1", "resume_from", "malformed event id"},
		{"duplicate id", `{"type":"subscribe","id":"taken"}`, "taken", "id", "already exists"},
		{"unsubscribe unknown", `{"type":"unsubscribe","id":"nope"}`, "nope", "id", "no subscription"},
		{"unsubscribe with filter", `{"type":"unsubscribe","id":"taken","filter":["a=eq.1"]}`, "taken", "filter", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.sendRaw(websocket.TextMessage, []byte(tt.raw))
			m := c.read()
			if m.Type != "error" || m.ID != tt.id || len(m.Errors) == 0 || m.Errors[0].Param != tt.param ||
				!strings.Contains(m.Errors[0].Message, tt.want) || !strings.HasPrefix(m.Message, tt.param+": ") {
				t.Fatalf("got %+v\nwant an error for %q naming %q with %q", m, tt.id, tt.param, tt.want)
			}
		})
	}
	c.t = t
	c.sendRaw(websocket.BinaryMessage, []byte(`{"type":"subscribe","id":"b"}`))
	if m := c.expect("error", ""); !strings.Contains(m.Message, "binary") {
		t.Fatalf("binary message: %+v", m)
	}
	// The connection stays open and usable.
	c.subscribe("after", nil)
}

func TestOversizedMessageCloses1009(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{MaxMessageBytes: 1024})
	c := dial(t, srv, "")
	c.sendRaw(websocket.TextMessage, []byte(`{"type":"subscribe","id":"`+strings.Repeat("x", 2000)+`"}`))
	if code, _, _ := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

func TestShutdownSendsLastEventsThen1001(t *testing.T) {
	var g hubtest.Gen
	s, srv, f := newSink(t, config.Broadcast{})
	a, b := dial(t, srv, ""), dial(t, srv, "?op=insert")
	a.subscribe("s", nil)
	b.expect("subscribed", "default")
	evs := g.Orders(0, 40)
	f.Send(evs...)
	f.Close()
	for _, c := range []*client{a, b} {
		code, text, got := c.closeCode()
		if code != websocket.CloseGoingAway || text == "" {
			t.Fatalf("close %d %q, want 1001 with a reason", code, text)
		}
		if len(got) != 40 || got[0].eventID() != evs[0].ID() || got[39].eventID() != evs[39].ID() {
			t.Fatalf("got %d messages before the close frame, want the 40 events", len(got))
		}
	}
	waitClients(t, s, 0)
	if r := httpGet(t, srv.URL, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}); r.StatusCode != 503 {
		t.Fatalf("handshake after shutdown: %d, want 503", r.StatusCode)
	}
}

func TestPing(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{Heartbeat: 50 * time.Millisecond})
	c := dial(t, srv, "")
	pinged := make(chan struct{}, 1)
	c.c.SetPingHandler(func(data string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return c.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, _ = c.c.ReadMessage() // the ping handler runs inside reads
	}()
	select {
	case <-pinged:
	case <-time.After(5 * time.Second):
		t.Fatal("no ping within 5s with a 50ms heartbeat")
	}
}

func TestHandshakeChecks(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{AllowedOrigins: []string{"https://app.example.com"}})
	if r := httpGet(t, srv.URL, nil); r.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET: %d, want 426", r.StatusCode)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial(wsURL(srv, ""), http.Header{"Origin": {"https://evil.example.com"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("disallowed origin: %v %v", err, resp)
	}
	c, _, err := d.Dial(wsURL(srv, ""), http.Header{"Origin": {"https://app.example.com"}})
	if err != nil {
		t.Fatalf("allowed origin: %v", err)
	}
	c.Close()
	c, _, err = d.Dial(wsURL(srv, ""), http.Header{"Origin": {srv.URL}})
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	c.Close()
}

func TestNewValidates(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no name":              func(c *Config) { c.Name = "" },
		"no max message bytes": func(c *Config) { c.MaxMessageBytes = 0 },
		"no write timeout":     func(c *Config) { c.WriteTimeout = 0 },
		"no client buffer":     func(c *Config) { c.Hub.ClientBuffer = 0 },
	} {
		cfg := testConfig("x", config.Broadcast{})
		mod(&cfg)
		if _, err := New(cfg, nil, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The writer frames messages itself: short ones ("subscribed", under 126
// bytes) and events on either side of the 65536 byte boundary of the frame
// length encoding arrive whole, in order.
func TestFrameLengths(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{})
	c := dial(t, srv, "")
	c.subscribe("all", nil)
	probe := hubtest.BigOrder(g.Next(), 0, 0)
	base := len(probe.Encoded()) + len(eventPrefix("all")) + 1 // frame payload of an empty status
	var evs []*pipeline.Event
	if base < 126 {
		t.Fatalf("an event frame of %d bytes: the test wants one of 126 or more", base)
	}
	for i, payload := range []int{base, 65535, 65536, 65537, 200000} {
		e := hubtest.BigOrder(g.Next(), i, payload-base)
		if n := len(e.Encoded()) + len(eventPrefix("all")) + 1; n != payload {
			t.Fatalf("event %d: payload %d, want %d", i, n, payload)
		}
		evs = append(evs, e)
	}
	f.Send(evs...)
	for i, e := range evs {
		m := c.expect("event", "all")
		if m.eventID() != e.ID() || len(m.Event) != len(e.Encoded()) {
			t.Fatalf("event %d: got id %s with %d bytes of JSON, want %s with %d", i, m.eventID(), len(m.Event), e.ID(), len(e.Encoded()))
		}
	}
}
