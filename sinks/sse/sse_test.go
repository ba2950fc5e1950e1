package sse

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
	r3sse "github.com/r3labs/sse/v2"
)

func TestWireFormat(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{Heartbeat: 100 * time.Millisecond, ClientRetry: 1500 * time.Millisecond})
	c := dial(t, srv, "", nil)
	for k, want := range map[string]string{
		"Content-Type":      "text/event-stream",
		"Cache-Control":     "no-cache",
		"X-Accel-Buffering": "no",
	} {
		if got := c.resp.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if c.resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS header on a request without Origin")
	}
	// The stream is written on the hijacked connection: chunked, dated,
	// and the connection ends with it.
	if fmt.Sprint(c.resp.TransferEncoding) != "[chunked]" || c.resp.Header.Get("Date") == "" || !c.resp.Close {
		t.Errorf("transfer encoding %v, Date %q, close %v: want chunked, a date, Connection: close",
			c.resp.TransferEncoding, c.resp.Header.Get("Date"), c.resp.Close)
	}
	if l, _ := c.line(); l != "retry: 1500\n" {
		t.Fatalf("first line %q, want the retry hint", l)
	}
	if l, _ := c.line(); l != "\n" {
		t.Fatalf("retry not followed by a blank line: %q", l)
	}
	evs := g.Orders(1, 2)
	f.Send(evs...)
	for _, e := range evs {
		want := []string{"id: " + e.ID() + "\n", "data: " + string(e.Encoded()) + "\n", "\n"}
		for _, w := range want {
			if l, err := c.line(); l != w {
				t.Fatalf("read %q (%v), want %q", l, err, w)
			}
		}
	}
	// Nothing more is published: the next block is a heartbeat comment.
	if l, _ := c.line(); l != ": heartbeat\n" {
		t.Fatalf("read %q, want a heartbeat comment", l)
	}
}

func TestEventNamesAndLineBreaks(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{EventNames: true})
	c := dial(t, srv, "", nil)
	e := hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 7, "paid", 70)
	// A json column keeps the text as written, line breaks included.
	e = e.Clone()
	e.After = append(pipeline.Row(nil), e.After...)
	e.After[4] = pipeline.Column{Name: "note", Kind: pipeline.KindJSON, Value: []byte("{\"a\":\r\n1,\n\"b\":\r2}")}
	e.Encoded()
	f.Send(e)
	c.next() // retry
	m := c.next()
	if m.id != e.ID() || m.event != "update" {
		t.Fatalf("message %+v, want id %s and event update", m, e.ID())
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(m.data), &v); err != nil {
		t.Fatalf("data lines do not join into the event JSON: %v\n%q", err, m.data)
	}
	if !strings.Contains(m.data, "{\"a\":\n1,\n\"b\":\n2}") {
		t.Fatalf("data %q: line breaks not carried as data lines", m.data)
	}
}

func TestAppendFieldStripsLineBreaks(t *testing.T) {
	got := string(appendField(nil, "event: ", "in\r\nsert\x00\n"))
	if got != "event: insert\n" {
		t.Fatalf("appendField = %q", got)
	}
	got = string(appendControl(nil, "reset", "a\nb", ""))
	if got != "event: reset\ndata: {\"reason\":\"a\\nb\"}\n\n" {
		t.Fatalf("appendControl = %q", got)
	}
}

func TestResume(t *testing.T) {
	for _, via := range []string{"header", "query", "header wins over query"} {
		t.Run(via, func(t *testing.T) {
			var g hubtest.Gen
			_, srv, f := newSink(t, config.Broadcast{})
			evs := g.Orders(0, 12)
			c := dial(t, srv, "", nil)
			f.Send(evs[:5]...)
			got := c.events(5)
			c.conn.Close()
			f.Send(evs[5:10]...) // missed while disconnected
			f.Wait()
			var hdr http.Header
			query := ""
			switch via {
			case "header":
				hdr = http.Header{"Last-Event-ID": {got[4]}}
			case "query":
				query = "?lastEventId=" + url.QueryEscape(got[4])
			default:
				hdr = http.Header{"Last-Event-ID": {got[4]}}
				query = "?lastEventId=" + url.QueryEscape(evs[0].ID())
			}
			c2 := dial(t, srv, query, hdr)
			if fmt.Sprint(c2.events(5)) != fmt.Sprint(idList(evs[5:10])) {
				t.Fatal("resume did not replay exactly the missed events")
			}
			f.Send(evs[10:]...)
			if fmt.Sprint(c2.events(2)) != fmt.Sprint(idList(evs[10:])) {
				t.Fatal("live events after the replay are wrong")
			}
		})
	}
}

func TestResetWhenEvicted(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{Replay: config.Replay{MaxEvents: 5}})
	evs := g.Orders(0, 21)
	f.Send(evs[:20]...)
	f.Wait()
	c0 := dial(t, srv, "", http.Header{"Last-Event-ID": {evs[19].ID()}})
	f.Send(evs[20])
	if got := c0.events(1); got[0] != evs[20].ID() {
		t.Fatalf("got %v", got)
	}
	c := dial(t, srv, "", http.Header{"Last-Event-ID": {evs[2].ID()}})
	c.next() // retry
	m := c.next()
	if m.event != "reset" || m.hasID {
		t.Fatalf("first message %+v, want an event: reset without id", m)
	}
	var body struct{ Reason string }
	if err := json.Unmarshal([]byte(m.data), &body); err != nil || !strings.Contains(body.Reason, "older than the replay buffer") {
		t.Fatalf("reset data %q: %v", m.data, err)
	}
	// After the reset the stream is live.
	more := g.Orders(100, 1)
	f.Send(more...)
	if got := c.events(1); got[0] != more[0].ID() {
		t.Fatalf("after reset got %v, want %s", got, more[0].ID())
	}
}

func TestSubscriptionParams(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{})
	all := dial(t, srv, "", nil)
	users := dial(t, srv, "?table=public.users", nil)
	updates := dial(t, srv, "?op=update,delete", nil)
	paid := dial(t, srv, "?table=orders&filter=status%3Deq.paid&filter=total%3Dgt.50&select=id,status", nil)
	evs := []*pipeline.Event{
		hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "new", 10),
		hubtest.User(g.Next(), 0, 1, "ann"),
		hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 1, "paid", 10),
		hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 2, "paid", 90),
		hubtest.Order(g.Next(), 0, pipeline.OpDelete, 2, "paid", 90),
	}
	f.Send(evs...)
	check := func(name string, c *rawClient, want ...*pipeline.Event) {
		t.Helper()
		if got := c.events(len(want)); fmt.Sprint(got) != fmt.Sprint(idList(want)) {
			t.Errorf("%s got %v, want %v", name, got, idList(want))
		}
	}
	check("all", all, evs...)
	check("users", users, evs[1])
	check("updates", updates, evs[2], evs[3], evs[4])
	check("paid", paid, evs[3], evs[4]) // a delete's filter tests the old row
	// A marker event that every subscription but users sees proves nothing
	// else was queued before it.
	marker := hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 3, "paid", 99)
	f.Send(marker)
	check("updates after", updates, marker)
	m := paid.next()
	if m.id != marker.ID() {
		t.Fatalf("paid: got %+v, want the marker", m)
	}
	var v struct {
		After  map[string]any
		Before map[string]any
	}
	if err := json.Unmarshal([]byte(m.data), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.After) != 2 || v.After["status"] != "paid" || v.After["id"] != "3" {
		t.Fatalf("select=id,status: after = %v", v.After)
	}
}

func TestBadRequests(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{})
	tests := []struct {
		query  string
		header http.Header
		param  string
		want   string
	}{
		{"?table=public.nope", nil, "table", "not published"},
		{"?op=insert,upsert", nil, "op", `unknown op "upsert"`},
		{"?op=insert,", nil, "op", "empty op"},
		{"?filter=total%3Dgtx.5", nil, "filter", `unknown operator "gtx"`},
		{"?filter=nope%3Deq.1", nil, "filter", "unknown column"},
		{"?table=orders&select=id,nope", nil, "select", "unknown column"},
		{"?tables=orders", nil, "tables", "unknown parameter"},
		{"?lastEventId=42", nil, "lastEventId", "malformed event id"},
		{"", http.Header{"Last-Event-ID": {"0/16B3748"}}, "Last-Event-ID", "malformed event id"},
		{"?table=%zz", nil, "query", "malformed query"},
	}
	for _, tt := range tests {
		t.Run(tt.query+tt.header.Get("Last-Event-ID"), func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/"+tt.query, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body live.ErrorBody
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &body) != nil {
				t.Fatalf("status %d, body %s", resp.StatusCode, raw)
			}
			if len(body.Errors) == 0 || body.Errors[0].Param != tt.param || !strings.Contains(body.Errors[0].Message, tt.want) {
				t.Fatalf("errors %+v, want param %q with %q", body.Errors, tt.param, tt.want)
			}
			if !strings.Contains(body.Error, tt.param) {
				t.Errorf("error %q does not name %q", body.Error, tt.param)
			}
		})
	}
	resp, err := srv.Client().Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, OPTIONS" {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestCORS(t *testing.T) {
	get := func(srv string, method, origin string) *http.Response {
		req, _ := http.NewRequest(method, srv, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		ctx, cancel := contextWithTimeout(t)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	_, list, _ := newSink(t, config.Broadcast{AllowedOrigins: []string{"https://app.example.com"}})
	if r := get(list.URL, "GET", "https://app.example.com"); r.StatusCode != 200 ||
		r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.Header.Get("Access-Control-Allow-Credentials") != "true" || r.Header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %d %v", r.StatusCode, r.Header)
	}
	if r := get(list.URL, "GET", "https://evil.example.com"); r.StatusCode != 403 {
		t.Errorf("other origin: %d, want 403", r.StatusCode)
	}
	if r := get(list.URL, "GET", list.URL); r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same origin: %d %v", r.StatusCode, r.Header)
	}
	if r := get(list.URL, "OPTIONS", "https://app.example.com"); r.StatusCode != 204 ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Last-Event-ID") ||
		r.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("preflight: %d %v", r.StatusCode, r.Header)
	}
	_, any, _ := newSink(t, config.Broadcast{AllowedOrigins: []string{"*"}})
	if r := get(any.URL, "GET", "https://whoever.example"); r.StatusCode != 200 ||
		r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf(`"*": %d %v`, r.StatusCode, r.Header)
	}
	_, none, _ := newSink(t, config.Broadcast{})
	if r := get(none.URL, "GET", "https://app.example.com"); r.StatusCode != 403 {
		t.Errorf("no allowed_origins, cross-origin: %d, want 403", r.StatusCode)
	}
}

func TestR3labsClient(t *testing.T) {
	var g hubtest.Gen
	_, srv, f := newSink(t, config.Broadcast{})
	evs := g.Orders(0, 20)
	f.Send(evs[:10]...)
	f.Wait()
	// Resume from the third event with the third-party client: it sends
	// Last-Event-ID, which must be accepted as our id format.
	client := r3sse.NewClient(srv.URL + "/")
	client.LastEventID.Store([]byte(evs[2].ID()))
	got := make(chan string, 100)
	ctx, cancel := contextWithTimeout(t)
	defer cancel()
	go func() {
		_ = client.SubscribeRawWithContext(ctx, func(m *r3sse.Event) {
			if len(m.Data) > 0 { // r3labs reports the retry block too, with the last id
				got <- string(m.ID)
			}
		})
	}()
	want := idList(evs[3:10])
	for i := range want {
		select {
		case id := <-got:
			if id != want[i] {
				t.Fatalf("event %d: got %s, want %s", i, id, want[i])
			}
		case <-ctx.Done():
			t.Fatalf("r3labs client got %d of %d events", i, len(want))
		}
		if i == 3 {
			f.Send(evs[10:]...)
			want = append(want, idList(evs[10:])...)
		}
	}
}

func TestShutdownEndsStreamsAfterLastEvents(t *testing.T) {
	var g hubtest.Gen
	s, srv, f := newSink(t, config.Broadcast{})
	clients := []*rawClient{dial(t, srv, "", nil), dial(t, srv, "?op=insert", nil)}
	evs := g.Orders(0, 50)
	f.Send(evs...)
	f.Close() // input closed: the sink sends what remains, then ends every stream
	for _, c := range clients {
		if fmt.Sprint(c.events(50)) != fmt.Sprint(idList(evs)) {
			t.Fatal("events lost at shutdown")
		}
		c.expectEnd()
	}
	if s.Ready() {
		t.Error("Ready after Run returned")
	}
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("new client after shutdown: %d, want 503", resp.StatusCode)
	}
}

// noHijack hides http.Hijacker, as a middleware's ResponseWriter may: the
// stream then goes through the ResponseWriter.
type noHijack struct{ w http.ResponseWriter }

func (n noHijack) Header() http.Header         { return n.w.Header() }
func (n noHijack) Write(b []byte) (int, error) { return n.w.Write(b) }
func (n noHijack) WriteHeader(code int)        { n.w.WriteHeader(code) }
func (n noHijack) Flush()                      { n.w.(http.Flusher).Flush() }

func TestStreamWithoutHijack(t *testing.T) {
	var g hubtest.Gen
	s, _, f := newSink(t, config.Broadcast{Heartbeat: 50 * time.Millisecond})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ServeHTTP(noHijack{w}, r) }))
	t.Cleanup(srv.Close)
	c := dial(t, srv, "?op=insert", nil)
	if c.resp.Close || c.resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("close %v, content type %q: want a kept-alive event stream from net/http", c.resp.Close, c.resp.Header.Get("Content-Type"))
	}
	if m := c.next(); m.retry == "" {
		t.Fatalf("first block %+v, want the retry hint", m)
	}
	if m := c.next(); m.comment != "heartbeat" {
		t.Fatalf("block %+v, want a heartbeat on an idle stream", m)
	}
	evs := g.Orders(0, 20)
	f.Send(evs...)
	if got := c.events(20); fmt.Sprint(got) != fmt.Sprint(idList(evs)) {
		t.Fatalf("got %v, want %v", got, idList(evs))
	}
	f.Close()
	c.expectEnd()
}

func TestNewValidates(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = "" },
		"no client retry":  func(c *Config) { c.ClientRetry = 0 },
		"no write timeout": func(c *Config) { c.WriteTimeout = 0 },
		"no heartbeat":     func(c *Config) { c.Hub.Heartbeat = 0 },
		"no replay limit":  func(c *Config) { c.Hub.MaxEvents = 0 },
	} {
		cfg := testConfig("x", config.Broadcast{})
		mod(&cfg)
		if _, err := New(cfg, nil, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
