package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// binary is the pgcdc built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pgcdc-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pgcdc")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	if os.Getenv("PGCDC_TEST_NORACE") != "" {
		build = exec.Command("go", "build", "-o", binary, ".")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build pgcdc:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running pgcdc process whose stdout lines and stderr log the
// test can wait on.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	logs []string
	wake chan struct{}
	done chan struct{}
	err  error
}

func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	read := func(r *bufio.Scanner, into *[]string) {
		defer wg.Done()
		r.Buffer(make([]byte, 1<<20), 64<<20)
		r.Split(completeLines)
		for r.Scan() {
			d.mu.Lock()
			*into = append(*into, r.Text())
			d.mu.Unlock()
			select {
			case d.wake <- struct{}{}:
			default:
			}
		}
	}
	go read(bufio.NewScanner(stdout), &d.out)
	go read(bufio.NewScanner(stderr), &d.logs)
	go func() {
		wg.Wait()
		d.err = cmd.Wait()
		close(d.done)
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("pgcdc %v stderr:\n%s", args, d.stderr())
		}
	})
	return d
}

func (d *daemon) stderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.logs, "\n")
}

func (d *daemon) lines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.out...)
}

// waitFor waits until cond holds (checked on every output line), the
// process exits, or the deadline passes.
func (d *daemon) waitFor(what string, timeout time.Duration, cond func(out, logs []string) bool) {
	d.t.Helper()
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		ok := cond(d.out, d.logs)
		d.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-d.wake:
		case <-d.done:
			d.mu.Lock()
			ok := cond(d.out, d.logs)
			d.mu.Unlock()
			if !ok {
				d.t.Fatalf("pgcdc exited (%v) before %s; stderr:\n%s", d.err, what, d.stderr())
			}
			return
		case <-deadline:
			d.t.Fatalf("timed out after %s waiting for %s (%d lines so far)", timeout, what, len(d.lines()))
		}
	}
}

func (d *daemon) waitLog(substr string) {
	d.t.Helper()
	d.waitFor("log "+substr, 60*time.Second, func(_, logs []string) bool {
		for _, l := range logs {
			if strings.Contains(l, substr) {
				return true
			}
		}
		return false
	})
}

func (d *daemon) waitLines(n int, timeout time.Duration) {
	d.t.Helper()
	d.waitFor(fmt.Sprintf("%d events", n), timeout, func(out, _ []string) bool { return len(out) >= n })
}

// completeLines splits on '\n' and drops an unterminated tail: a SIGKILL
// can cut the process off in the middle of writing a line, and half an
// event is not one a consumer received.
func completeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, bytes.TrimSuffix(data[:i], []byte("\r")), nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		d.t.Fatalf("pgcdc did not exit within 60s of SIGTERM")
	}
	if d.err != nil {
		d.t.Fatalf("pgcdc exited with %v after SIGTERM; stderr:\n%s", d.err, d.stderr())
	}
}

// kill sends SIGKILL and waits for the process to go.
func (d *daemon) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// writeConfig writes a pipeline.yaml into a temp dir and returns its path.
func writeConfig(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stdoutConfig streams every table of the cluster to stdout.
func stdoutConfig(t *testing.T, cl *pgcluster.Cluster, extra string) string {
	return streamConfig(t, cl, "{name: out, type: stdout}", extra)
}

// streamConfig streams every table of the cluster to one sink (a YAML
// flow mapping); extra is appended to the config.
func streamConfig(t *testing.T, cl *pgcluster.Cluster, sink, extra string) string {
	return writeConfig(t, fmt.Sprintf(`source:
  dsn: %q
  create: true
  tables: ["public.*"]
  status_interval: 1s
  reconnect: {initial: 100ms, max: 1s}
server: {listen: "127.0.0.1:0"}
sinks:
  - %s
log: {level: info}
%s`, cl.DSN(""), sink, extra))
}

// event is the part of an event the tests check.
type event struct {
	ID    string         `json:"id"`
	Op    string         `json:"op"`
	Table string         `json:"table"`
	After map[string]any `json:"after"`
}

func parseEvents(t *testing.T, lines []string) []event {
	t.Helper()
	evs := make([]event, 0, len(lines))
	for _, l := range lines {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("stdout line is not an event: %v: %q", err, l)
		}
		evs = append(evs, e)
	}
	return evs
}

func sqlConn(t *testing.T, cl *pgcluster.Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
