package httpserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// stack is a server with one SSE and one WebSocket sink, built the way
// pgcdc builds them (internal/wiring), running.
type stack struct {
	srv    *httpserver.Server
	base   string
	sse    pipeline.Readier
	feedS  *hubtest.Feeder
	feedW  *hubtest.Feeder
	done   chan error
	closed bool
}

func newStack(t *testing.T, server config.Server, extra map[string]http.Handler) *stack {
	t.Helper()
	cfg := &config.Config{Server: server, Sinks: []config.Sink{
		{Name: "live", Type: config.TypeSSE, Broadcast: config.Broadcast{AllowedOrigins: []string{"https://app.example.com"}}},
		{Name: "ws", Type: config.TypeWebSocket, Broadcast: config.Broadcast{AllowedOrigins: []string{"https://app.example.com"}}},
	}}
	if _, custom := extra["/"]; custom {
		cfg.Dashboard.Disabled = true // the test serves its own page at /
	}
	if cfg.Server.Listen == "" {
		cfg.Server.Listen = "127.0.0.1:0"
	}
	cfg.SetDefaults()
	srv := mustNew(t, cfg.Server)
	authn, err := wiring.Authenticator(t.Context(), cfg.Server, nil)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := wiring.Outputs(cfg, wiring.Deps{Catalog: hubtest.Catalog(), Server: srv, Auth: authn})
	if err != nil {
		t.Fatal(err)
	}
	for p, h := range extra {
		if err := srv.Handle(p, h); err != nil {
			t.Fatal(err)
		}
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http://"
	if cfg.Server.TLS.CertFile != "" {
		scheme = "https://"
	}
	st := &stack{srv: srv, base: scheme + addr.String(), sse: outs[0].Sink.(pipeline.Readier), done: make(chan error, 1)}
	srv.Open() // before the goroutine: /readyz says "starting" until then
	go func() { st.done <- srv.Serve() }()
	st.feedS = hubtest.Run(t, context.Background(), outs[0].Sink)
	st.feedW = hubtest.Run(t, context.Background(), outs[1].Sink)
	t.Cleanup(func() { st.stop(t) })
	return st
}

// send publishes events to both sinks and waits until both hold them.
func (st *stack) send(evs ...*pipeline.Event) {
	st.feedS.Send(evs...)
	st.feedW.Send(evs...)
	st.feedS.Wait()
	st.feedW.Wait()
}

// stop shuts the server down within 5 s and waits for Serve (once).
func (st *stack) stop(t *testing.T) {
	if st.closed {
		return
	}
	st.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-st.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return within 10s of Shutdown")
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestHandleRejects(t *testing.T) {
	srv := mustNew(t, config.Server{})
	h := http.NotFoundHandler()
	if err := srv.Handle("/events", h); err != nil {
		t.Fatal(err)
	}
	if err := srv.Handle("/api/changes", h); err != nil { // mounted by wiring, once
		t.Fatal(err)
	}
	for _, p := range []string{"/events", "/healthz", "/readyz", "/metrics", "/api/changes", "events", "/a b", "/{x}", ""} {
		if err := srv.Handle(p, h); err == nil {
			t.Errorf("Handle(%q): no error", p)
		}
	}
}

func mustNew(t testing.TB, cfg config.Server) *httpserver.Server {
	t.Helper()
	srv, err := httpserver.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestHealthReadyMetrics(t *testing.T) {
	var replication error = errors.New("replication not connected")
	st := newStack(t, config.Server{}, nil)
	st.srv.AddReadyCheck("replication", func() error { return replication })
	st.srv.AddReadyCheck("sink live", func() error {
		if !st.sse.Ready() {
			return errors.New("not running")
		}
		return nil
	})
	if code, _ := get(t, st.base+"/healthz"); code != 200 {
		t.Fatalf("/healthz %d", code)
	}
	code, body := get(t, st.base+"/readyz")
	var ready struct {
		Status string
		Failed map[string]string
	}
	if json.Unmarshal(body, &ready); code != 503 || ready.Failed["replication"] != "replication not connected" || len(ready.Failed) != 1 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	replication = nil
	if code, body := get(t, st.base+"/readyz"); code != 200 || !strings.Contains(string(body), `"ready"`) {
		t.Fatalf("/readyz %d %s", code, body)
	}
	code, body = get(t, st.base+"/metrics")
	if code != 200 || !strings.Contains(string(body), `pgcdc_broadcast_clients{sink="live"}`) {
		t.Fatalf("/metrics %d: no broadcast metrics", code)
	}
}

func TestChanges(t *testing.T) {
	st := newStack(t, config.Server{}, nil)
	var g hubtest.Gen
	evs := g.Orders(0, 30)
	evs = append(evs, hubtest.User(g.Next(), 0, 1, "ann"))
	st.send(evs...)
	type page struct {
		Events []struct{ ID, Table string }
		Next   string
		Reset  string
	}
	fetch := func(query string) page {
		t.Helper()
		code, body := get(t, st.base+"/api/changes"+query)
		var p page
		if err := json.Unmarshal(body, &p); code != 200 || err != nil {
			t.Fatalf("%s: %d %s", query, code, body)
		}
		return p
	}
	p := fetch("?limit=3")
	if len(p.Events) != 3 || p.Events[2].ID != evs[30].ID() || p.Next != evs[30].ID() {
		t.Fatalf("newest page: %+v", p)
	}
	p = fetch("?after=" + evs[4].ID() + "&limit=5&table=orders")
	if len(p.Events) != 5 || p.Events[0].ID != evs[5].ID() || p.Next != evs[9].ID() {
		t.Fatalf("page after 4: %+v", p)
	}
	all, after := 0, evs[0].ID()
	for {
		p := fetch("?table=orders&limit=7&after=" + after)
		if len(p.Events) == 0 {
			break
		}
		all += len(p.Events)
		after = p.Next
	}
	if all != 29 {
		t.Fatalf("paging through orders after the first: %d events, want 29", all)
	}
	for q, param := range map[string]string{
		"?limit=0": "limit", "?limit=x": "limit", "?after=12": "after", "?table=nope": "table",
		"?op=upsert": "op", "?since=1": "since",
	} {
		code, body := get(t, st.base+"/api/changes"+q)
		if code != 400 || !strings.Contains(string(body), `"param":"`+param+`"`) {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
}

func TestChangesWithoutBroadcastSink(t *testing.T) {
	srv := mustNew(t, config.Server{Listen: "127.0.0.1:0"})
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- srv.Serve() }()
	code, _ := get(t, "http://"+addr.String()+"/api/changes")
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code != 404 {
		t.Fatalf("/api/changes without a broadcast sink: %d, want 404", code)
	}
}

// TestShutdownClosesStreams: cancelling the server sends every stream the
// events already published, then ends it: SSE by ending the response,
// WebSocket with close frame 1001.
func TestShutdownClosesStreams(t *testing.T) {
	st := newStack(t, config.Server{}, nil)
	var g hubtest.Gen
	resp, err := http.Get(st.base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	wc, _, err := d.Dial("ws"+strings.TrimPrefix(st.base, "http")+"/ws?table=orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, b, err := wc.ReadMessage(); err != nil || !strings.Contains(string(b), "subscribed") {
		t.Fatalf("%s %v", b, err)
	}
	evs := g.Orders(0, 25)
	st.send(evs...)
	st.stop(t)

	body, err := io.ReadAll(bufio.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("SSE stream did not end cleanly: %v", err)
	}
	if n := strings.Count("\n"+string(body), "\nid: "); n != 25 ||
		!strings.Contains(string(body), "id: "+evs[24].ID()) {
		t.Fatalf("SSE got %d events before the end, want 25", n)
	}
	var got int
	for {
		_, b, err := wc.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("WebSocket ended with %v, want close 1001", err)
			}
			break
		}
		if strings.Contains(string(b), `"type":"event"`) {
			got++
		}
	}
	if got != 25 {
		t.Fatalf("WebSocket got %d events before 1001, want 25", got)
	}
	if _, err := http.Get(st.base + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

// TestRebindingAndOrigins: the live endpoints (SSE, WebSocket,
// /api/changes) answer only the hosts the server serves, whatever the
// page's origin claims: a page on evil.example whose name resolved to
// 127.0.0.1 (DNS rebinding) sends Host: evil.example and gets 421; a
// cross-origin page not in allowed_origins gets 403 on every endpoint; a
// host in server.allowed_hosts is served.
func TestRebindingAndOrigins(t *testing.T) {
	st := newStack(t, config.Server{AllowedHosts: []string{"pgcdc.internal"}}, nil)
	port := strings.TrimPrefix(st.base, "http://127.0.0.1")
	ws := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	endpoints := []struct {
		path   string
		header http.Header
		ok     int
	}{
		{"/events", nil, 200},
		{"/ws", ws, 101},
		{"/api/changes", nil, 200},
	}
	cases := []struct {
		name, host, origin string
		want               int // 0: the endpoint's success
	}{
		{"forged host", "evil.example" + port, "", http.StatusMisdirectedRequest},
		{"forged host, same-looking origin", "evil.example" + port, "http://evil.example" + port, http.StatusMisdirectedRequest},
		{"forged origin", "127.0.0.1" + port, "https://evil.example", http.StatusForbidden},
		{"allowed origin", "127.0.0.1" + port, "https://app.example.com", 0},
		{"same origin", "127.0.0.1" + port, "http://127.0.0.1" + port, 0},
		{"localhost", "localhost" + port, "http://localhost" + port, 0},
		{"allowed host", "pgcdc.internal" + port, "http://pgcdc.internal" + port, 0},
		{"no browser", "[::1]" + port, "", 0},
	}
	for _, ep := range endpoints {
		for _, c := range cases {
			t.Run(ep.path+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", st.base+ep.path, nil)
				for k, v := range ep.header {
					req.Header[k] = v
				}
				req.Host = c.host
				if c.origin != "" {
					req.Header.Set("Origin", c.origin)
				}
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				want := c.want
				if want == 0 {
					want = ep.ok
				}
				if resp.StatusCode != want {
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, b)
				}
				if c.origin == "https://app.example.com" && ep.ok != 101 && resp.Header.Get("Access-Control-Allow-Origin") != c.origin {
					t.Fatalf("allowed origin without CORS headers: %v", resp.Header)
				}
			})
		}
	}
}
