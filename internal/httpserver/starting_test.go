package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
)

// startingServer is a server that listens and has one handler at /events,
// whose caller has not called Serve yet (it still prepares).
func startingServer(t *testing.T) (base string, serve func() error, shutdown func(context.Context) error) {
	t.Helper()
	cfg := config.Config{Server: config.Server{Listen: "127.0.0.1:0"}}
	cfg.SetDefaults()
	srv := mustNew(t, cfg.Server)
	if err := srv.Handle("/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served") })); err != nil {
		t.Fatal(err)
	}
	srv.AddReadyCheck("stream", func() error { return errors.New("not reading the stream") })
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + addr.String(), srv.Serve, srv.Shutdown
}

type answer struct {
	status int
	body   string
	err    error
}

// fetch GETs url with a 10 s timeout (a server that does not answer
// fails the test instead of hanging it).
func fetch(url string) answer {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b)}
}

// While its caller prepares (an edge waiting for its stream), the server
// answers probes: /healthz 200, /readyz 503 naming "starting" and the
// failing check. A sink's path waits, and is served once Serve is called.
func TestServerAnswersWhileStarting(t *testing.T) {
	base, serve, _ := startingServer(t)
	events := make(chan answer, 1)
	go func() { events <- fetch(base + "/events") }()

	if a := fetch(base + "/healthz"); a.err != nil || a.status != http.StatusOK {
		t.Fatalf("/healthz while starting: %+v, want 200", a)
	}
	a := fetch(base + "/readyz")
	var body struct{ Failed map[string]string }
	_ = json.Unmarshal([]byte(a.body), &body)
	if a.err != nil || a.status != http.StatusServiceUnavailable || body.Failed["server"] != "starting" || body.Failed["stream"] == "" {
		t.Fatalf("/readyz while starting: %+v, want 503 naming server starting and the stream check", a)
	}
	select {
	case a := <-events:
		t.Fatalf("/events answered before Serve: %+v", a)
	default:
	}
	go func() { _ = serve() }()
	select {
	case a := <-events:
		if a.err != nil || a.status != http.StatusOK || a.body != "served" {
			t.Fatalf("/events after Serve: %+v, want 200 served", a)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("/events not served within 30 s of Serve")
	}
}

// A shutdown while the caller still prepares answers a waiting request
// 503 instead of holding the shutdown to its deadline.
func TestServerShutdownWhileStarting(t *testing.T) {
	base, _, shutdown := startingServer(t)
	events := make(chan answer, 1)
	go func() { events <- fetch(base + "/events") }()
	if a := fetch(base + "/healthz"); a.status != http.StatusOK { // the server is up; /events is waiting or about to
		t.Fatalf("/healthz: %+v", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := shutdown(ctx); err != nil {
		t.Fatalf("shutdown while starting: %v (after %s)", err, time.Since(start))
	}
	a := <-events
	if a.err == nil && a.status != http.StatusServiceUnavailable {
		t.Fatalf("/events during shutdown: %+v, want 503 or a closed connection", a)
	}
}
