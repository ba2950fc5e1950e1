package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/freeaddr"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	addrs, err := freeaddr.Loopback(1)
	if err != nil {
		t.Fatal(err)
	}
	return addrs[0]
}

// expectHealth runs pgcdc health and checks its exit code and its one
// line of output.
func expectHealth(t *testing.T, wantCode int, want string, args ...string) {
	t.Helper()
	code, out := runOnce(t, append([]string{"health"}, args...)...)
	if code != wantCode || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 || strings.Contains(out, "panic") {
		t.Errorf("pgcdc health %v: exit %d, output %q; want exit %d and one line containing %q", args, code, out, wantCode, want)
	}
}

// The image's combination: PGCDC_SERVER_LISTEN=0.0.0.0:PORT overrides the
// config (with the warning about no authentication), and pgcdc health on
// 127.0.0.1:PORT/readyz exits 0 once pgcdc streams and 1 once it stopped.
func TestHealthImageListen(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	_, port, _ := net.SplitHostPort(freeAddr(t))
	t.Setenv("PGCDC_SERVER_LISTEN", "0.0.0.0:"+port)
	d := startDaemon(t, "run", "-c", stdoutConfig(t, cl, ""))
	d.waitLog("msg=streaming")
	if addr := d.serverAddr(); !strings.HasSuffix(addr, ":"+port) || strings.HasPrefix(addr, "127.") {
		t.Errorf("listening on %s, want 0.0.0.0:%s from PGCDC_SERVER_LISTEN", addr, port)
	}
	d.waitLog("without authentication")
	url := fmt.Sprintf("http://127.0.0.1:%s/readyz", port)
	expectHealth(t, 0, url+" answered 200 OK", "--url", url)
	d.stop()
	expectHealth(t, exitError, "connection refused", "--url", url)
}

// Anything but 200 is unhealthy, with the status and the start of the
// body on one line; a server that does not answer is cut off at
// --timeout; a redirect is not followed; a bad flag exits 64.
func TestHealthFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer close(hang)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "{\"status\":\"not ready\",\n \"failed\":{\"replication\":\"not streaming\"}}\n")
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/hang":
			<-hang
		}
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	base := "http://" + l.Addr().String()
	expectHealth(t, 0, "answered 200 OK", "--url", base+"/ok")
	expectHealth(t, exitError, `503 Service Unavailable: {"status":"not ready", "failed":{"replication":"not streaming"}}`, "--url", base+"/readyz")
	expectHealth(t, exitError, "302 Found", "--url", base+"/moved")
	start := time.Now()
	expectHealth(t, exitError, "Timeout", "--url", base+"/hang", "--timeout", "300ms")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("--timeout 300ms took %s", d)
	}
	expectHealth(t, exitError, "connection refused", "--url", "http://"+freeAddr(t)+"/readyz")
	expectHealth(t, exitUsage, `--url is "ftp://x"`, "--url", "ftp://x")
	expectHealth(t, exitUsage, "--timeout is 0s", "--timeout", "0s")
}
