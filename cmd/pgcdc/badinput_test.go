package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// runOnce runs pgcdc to completion and returns its exit code and stderr.
func runOnce(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("run pgcdc %v: %v\n%s", args, err, out)
	return 0, ""
}

// expectFailure checks a one-line, panic-free error naming the problem and
// the fix, without the password.
func expectFailure(t *testing.T, code int, out string, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d; output:\n%s", code, wantCode, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", pgcluster.Password, "s3cret"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q:\n%s", bad, out)
		}
	}
	var errLines int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "pgcdc: ") {
			errLines++
		}
	}
	if errLines != 1 {
		t.Errorf("want exactly one 'pgcdc: ' error line, got %d:\n%s", errLines, out)
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wants      []string
	}{
		{"unknown key", "source:\n  dsn: postgres://x@localhost/db\n  tiemout: 5s\nsinks: [{name: a, type: stdout}]\n",
			[]string{"pipeline.yaml:3", "tiemout"}},
		{"unknown sink type", "source: {dsn: postgres://x@localhost/db}\nsinks: [{name: a, type: kafka}]\n",
			[]string{"sinks[0].type", "kafka", "stdout"}},
		{"malformed yaml", "source: {dsn: [\n", []string{"pipeline.yaml"}},
		{"bad duration", "source: {dsn: postgres://x@localhost/db, status_interval: soon}\nsinks: [{name: a, type: stdout}]\n",
			[]string{"source.status_interval"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.body)
			for _, sub := range [][]string{{"validate"}, {"run"}} {
				code, out := runOnce(t, append(sub, "-c", cfg)...)
				expectFailure(t, code, out, exitConfig, tc.wants...)
			}
		})
	}
	code, out := runOnce(t, "run", "-c", "/nonexistent/pipeline.yaml")
	expectFailure(t, code, out, exitConfig, "/nonexistent/pipeline.yaml")
}

func TestBadDatabase(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE ROLE norepl LOGIN PASSWORD 's3cret';
CREATE TABLE t (id int PRIMARY KEY);`); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := func(dsn, extra string) string {
		return writeConfig(t, fmt.Sprintf("source: {dsn: %q%s}\nsinks: [{name: a, type: stdout}]\n", dsn, extra))
	}
	for _, tc := range []struct {
		name, cfg string
		wants     []string
	}{
		{"missing slot", conf(cl.DSN(""), ""), []string{`replication slot "pgcdc" does not exist`, "pgcdc slot create"}},
		{"wrong password", conf(cl.UserDSN("postgres", "wrong-s3cret", ""), ""), []string{"password authentication failed", "source.dsn"}},
		{"unreachable host", conf(fmt.Sprintf("postgres://postgres:s3cret@127.0.0.1:%d/postgres?sslmode=disable", deadPort), ""),
			[]string{"cannot reach PostgreSQL", fmt.Sprint(deadPort)}},
		{"no replication attribute", conf(cl.UserDSN("norepl", "s3cret", ""), ", create: true"),
			[]string{"REPLICATION", "ALTER ROLE"}},
		{"missing database", conf(cl.UserDSN("postgres", pgcluster.Password, "nope"), ""), []string{`database "nope" does not exist`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runOnce(t, "run", "-c", tc.cfg)
			expectFailure(t, code, out, exitError, tc.wants...)
		})
	}
	// With the slot there but no publication.
	cfg := conf(cl.DSN(""), "")
	if code, out := runOnce(t, "slot", "create", "-c", cfg); code != 0 {
		t.Fatalf("slot create: %s", out)
	}
	code, out := runOnce(t, "run", "-c", cfg)
	expectFailure(t, code, out, exitError, `publication "pgcdc" does not exist`, "pgcdc publication create")
}

func TestWALLevelNotLogical(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"wal_level": "replica"}})
	cfg := writeConfig(t, fmt.Sprintf("source: {dsn: %q, create: true}\nsinks: [{name: a, type: stdout}]\n", cl.DSN("")))
	code, out := runOnce(t, "run", "-c", cfg)
	expectFailure(t, code, out, exitError, "wal_level", "logical", "ALTER SYSTEM SET wal_level = logical")
	code, out = runOnce(t, "check", "-c", cfg)
	if code == 0 || !strings.Contains(out, "ERROR wal_level") || !strings.Contains(out, "fix: ALTER SYSTEM SET wal_level = logical") {
		t.Errorf("check: exit %d:\n%s", code, out)
	}
}
