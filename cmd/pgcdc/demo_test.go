package main

import (
	"net"
	"os"
	"path/filepath"
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
		d := startDaemon(t, "demo", "--listen", "127.0.0.1:0", "--rate", "50", "--duration", "5s")
		d.waitLines(3, 60*time.Second)
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
		code, out := runOnce(t, "demo", "--listen", l.Addr().String())
		if code != exitError || !strings.Contains(out, "PostgreSQL is up") || !strings.Contains(out, "server.listen") {
			t.Errorf("demo on a taken address: exit %d, want 1 after the cluster started, naming server.listen:\n%s", code, out)
		}
	})
	t.Run("second signal", func(t *testing.T) {
		d := startDaemon(t, "demo", "--listen", "127.0.0.1:0", "--rate", "100")
		d.waitLines(3, 60*time.Second)
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
