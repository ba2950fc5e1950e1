package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoTmp points TMPDIR at a new directory that the postgres user can
// traverse and returns a function listing the throwaway clusters left in
// it (pgcluster makes them there as pgcdc-pg-*).
func demoTmp(t *testing.T) func() []string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgcdc-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", dir)
	return func() []string {
		left, err := filepath.Glob(filepath.Join(dir, "pgcdc-pg-*"))
		if err != nil {
			t.Fatal(err)
		}
		return left
	}
}

// A --rate that is not a positive finite number in range exits 64 naming
// the flag, before anything starts: no panic, no cluster left behind.
func TestDemoBadFlags(t *testing.T) {
	clusters := demoTmp(t)
	for _, c := range []struct{ args, want string }{
		{"--rate 1e10", "--rate is 1e+10, want transactions per second from 0.001 to 10000"},
		{"--rate NaN", "--rate is NaN"},
		{"--rate +Inf", "--rate is +Inf"},
		{"--rate -Inf", "--rate is -Inf"},
		{"--rate 0", "--rate is 0,"},
		{"--rate -5", "--rate is -5,"},
		{"--rate 1e-300", "--rate is 1e-300"},
		{"--rate 10001", "--rate is 10001"},
		{"--rate fast", `invalid argument "fast" for "--rate"`},
		{"--duration -1s", "--duration is -1s"},
	} {
		code, out := runOnce(t, append([]string{"demo", "--listen", "127.0.0.1:0"}, strings.Fields(c.args)...)...)
		expectFailure(t, code, out, exitUsage, c.want)
		if strings.Contains(out, "starting a throwaway PostgreSQL") {
			t.Errorf("demo %s started a cluster before checking its flags:\n%s", c.args, out)
		}
	}
	if left := clusters(); len(left) > 0 {
		t.Errorf("cluster directories left behind: %v", left)
	}
}

// Every way the demo ends removes its cluster directory: the --duration
// elapsing, a failure after the cluster started (the listen address is
// taken), and a second signal that exits without draining.
func TestDemoRemovesCluster(t *testing.T) {
	clusters := demoTmp(t)
	t.Run("duration", func(t *testing.T) {
		d := startDaemon(t, "demo", "--listen", "127.0.0.1:0", "--rate", "50", "--duration", "5s", "--stdout")
		d.waitLines(12, 60*time.Second) // the banner, then events
		select {
		case <-d.done:
		case <-time.After(60 * time.Second):
			t.Fatal("the demo did not stop after --duration 5s")
		}
		if d.err != nil {
			t.Errorf("demo --duration 5s: %v\n%s", d.err, d.stderr())
		}
	})
	t.Run("failure", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		code, out := runOnce(t, "demo", "--verbose", "--listen", l.Addr().String())
		if code != exitError || !strings.Contains(out, "PostgreSQL is up") || !strings.Contains(out, "server.listen") {
			t.Errorf("demo on a taken address: exit %d, want 1 after the cluster started, naming server.listen:\n%s", code, out)
		}
	})
	t.Run("second signal", func(t *testing.T) {
		d := startDaemon(t, "demo", "--listen", "127.0.0.1:0", "--rate", "100", "--stdout")
		d.waitLines(12, 60*time.Second)
		// Two different signals: a second pending SIGINT would merge with
		// the first.
		_ = d.cmd.Process.Signal(syscall.SIGINT)
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done: // drained or forced: either way the cluster must go
		case <-time.After(60 * time.Second):
			t.Fatal("the demo did not exit within 60 s of SIGINT and SIGTERM")
		}
		t.Logf("forced exit: %v", strings.Contains(d.stderr(), "second signal"))
	})
	if left := clusters(); len(left) > 0 {
		t.Errorf("cluster directories left behind: %v", left)
	}
}

// pgcdc demo prints the dashboard's URL first, serves the page, the
// status and the streams, produces traffic of every kind into the three
// tables (the webhook receiving it too), and on SIGINT exits 0 leaving no
// cluster directory and no PostgreSQL process behind.
func TestDemoDashboard(t *testing.T) {
	clusters := demoTmp(t)
	d := startDaemon(t, "demo", "--listen", "127.0.0.1:0", "--rate", "200")
	d.waitFor("the banner", 60*time.Second, func(out, _ []string) bool { return len(out) > 0 && strings.Contains(strings.Join(out, "\n"), "Ctrl-C") })
	d.mu.Lock()
	first := d.out[0]
	d.mu.Unlock()
	base, ok := strings.CutPrefix(first, "pgcdc demo: the dashboard is at ")
	if !ok {
		t.Fatalf("the first line is %q, want the dashboard's URL", first)
	}
	base = strings.TrimSuffix(base, "/")
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, h := get("/"); code != http.StatusOK || !strings.Contains(body, `src="app.js"`) || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /: %d, CSP %q:\n%.300s", code, h.Get("Content-Security-Policy"), body)
	}
	// Traffic: every op on every table, and the webhook delivering.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := get("/api/changes?limit=1000")
		_, status, _ := get("/api/status")
		var page struct{ Events []struct{ Op, Table string } }
		if code != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("/api/changes: %d %.300s", code, body)
		}
		seen := map[string]bool{}
		for _, e := range page.Events {
			seen[e.Table+" "+e.Op] = true
		}
		var st struct {
			Source struct{ Connected bool }
			Sinks  []struct {
				Name      string
				Delivered float64
			}
		}
		_ = json.Unmarshal([]byte(status), &st)
		delivered := false
		for _, s := range st.Sinks {
			delivered = delivered || s.Name == "hooks" && s.Delivered > 0
		}
		all := st.Source.Connected && delivered
		for _, want := range []string{"customers insert", "customers update", "products update", "orders insert", "orders update", "orders delete"} {
			all = all && seen[want]
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the demo's changes cover %v; status %s", seen, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	dir := ""
	d.mu.Lock()
	lines := append([]string(nil), d.out...)
	d.mu.Unlock()
	for _, l := range lines {
		// "  psql       psql -h <dir> -p <port> -U postgres"
		if f := strings.Fields(l); len(f) > 3 && f[0] == "psql" {
			if i := slices.Index(f, "-h"); i > 0 && i+1 < len(f) {
				dir = f[i+1]
			}
		}
	}
	if dir == "" {
		t.Fatalf("no psql line in the banner:\n%s", strings.Join(lines, "\n"))
	}
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not exit within 60 s of SIGINT")
	}
	if d.err != nil {
		t.Errorf("demo after SIGINT: %v\n%s", d.err, d.stderr())
	}
	if left := clusters(); len(left) > 0 {
		t.Errorf("cluster directories left behind: %v", left)
	}
	if pids := processesUsing(t, dir); len(pids) > 0 {
		t.Errorf("processes of the cluster in %s still run: %v", dir, pids)
	}
}

// processesUsing lists the processes whose command line names dir (the
// cluster's postgres runs with -D <dir>/data).
func processesUsing(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), dir) {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// Without PostgreSQL's server binaries the demo says how to install them.
func TestDemoNoPostgres(t *testing.T) {
	clusters := demoTmp(t)
	t.Setenv("PGCDC_PG_BIN", t.TempDir()) // a directory without initdb
	code, out := runOnce(t, "demo", "--listen", "127.0.0.1:0")
	if code != exitError || !strings.Contains(out, "apt-get install postgresql") || !strings.Contains(out, "PGCDC_PG_BIN") {
		t.Errorf("demo without initdb: exit %d, want 1 with the install command:\n%s", code, out)
	}
	if left := clusters(); len(left) > 0 {
		t.Errorf("cluster directories left behind: %v", left)
	}
}
