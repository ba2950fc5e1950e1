package httpserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// browserPage uses nothing but a plain EventSource and a plain WebSocket
// with a subscribe message, and POSTs back the event ids each received.
const browserPage = `<!doctype html>
<html><body><script>
const want = %d;
const got = {sse: [], ws: []};
let sent = false;
function done() {
  if (sent || got.sse.length < want || got.ws.length < want) return;
  sent = true;
  fetch('/result', {method: 'POST', body: JSON.stringify(got)});
}
function fail(what) { fetch('/result', {method: 'POST', body: JSON.stringify({error: what})}); }
const es = new EventSource('/events');
es.onopen = () => fetch('/ready?c=sse', {method: 'POST'});
es.onmessage = (e) => { got.sse.push(e.lastEventId); done(); };
const ws = new WebSocket('ws://' + location.host + '/ws');
ws.onopen = () => ws.send(JSON.stringify({type: 'subscribe', id: 's1', table: ['public.orders']}));
ws.onmessage = (m) => {
  const d = JSON.parse(m.data);
  if (d.type === 'subscribed') fetch('/ready?c=ws', {method: 'POST'});
  else if (d.type === 'event') { got.ws.push(d.event.id); done(); }
  else fail('unexpected websocket message ' + m.data);
};
ws.onerror = () => fail('websocket error');
</script></body></html>`

// TestBrowser loads a page in headless Chromium that reads both sinks with
// the browser's own EventSource and WebSocket, and checks that it received
// exactly the published ids, in order.
func TestBrowser(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found: CI must install it (apt-get install -y chromium)")
		}
		t.Skip("chromium not found (install it with apt-get install -y chromium)")
	}
	const n = 50
	ready := make(chan string, 2)
	result := make(chan []byte, 1)
	var once sync.Once
	st := newStack(t, config.Server{}, map[string]http.Handler{
		"/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, browserPage, n)
		}),
		"/ready": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ready <- r.URL.Query().Get("c")
		}),
		"/result": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			once.Do(func() { result <- b })
		}),
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), st.base+"/")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()

	for seen := map[string]bool{}; len(seen) < 2; {
		select {
		case c := <-ready:
			seen[c] = true
		case b := <-result:
			t.Fatalf("page failed before both streams opened: %s", b)
		case <-ctx.Done():
			t.Fatalf("the page did not open both streams within 20s; chromium said:\n%s", out.String())
		}
	}
	var g hubtest.Gen
	evs := g.Orders(0, n)
	want := make([]string, n)
	for i, e := range evs {
		want[i] = e.ID()
	}
	st.send(evs...)
	select {
	case b := <-result:
		var got struct {
			SSE, WS []string
			Error   string
		}
		if err := json.Unmarshal(b, &got); err != nil || got.Error != "" {
			t.Fatalf("page result %s (%v)", b, err)
		}
		if strings.Join(got.SSE, ",") != strings.Join(want, ",") {
			t.Errorf("EventSource received %v\nwant %v", got.SSE, want)
		}
		if strings.Join(got.WS, ",") != strings.Join(want, ",") {
			t.Errorf("WebSocket received %v\nwant %v", got.WS, want)
		}
	case <-ctx.Done():
		t.Fatalf("no result from the page within 20s; chromium said:\n%s", out.String())
	}
}
