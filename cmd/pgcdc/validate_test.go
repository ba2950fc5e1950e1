package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runIn runs pgcdc in dir with extra environment variables and returns
// its exit code, stdout and stderr apart.
func runIn(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PGCDC_") || strings.HasPrefix(kv, "PGCDC_PG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run pgcdc %v: %v\n%s", args, err, stderr.String())
	return 0, "", ""
}

// TestValidatePrint: --print writes the effective config alone to stdout
// (keys of each sink's type only, secrets redacted), status and warnings
// go to stderr, and the printed config validates again.
func TestValidatePrint(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, `source: {dsn: "postgres://app:db-s3cret@localhost:5432/app"}
sinks:
  - {name: out, type: stdout}
  - {name: live, type: sse, allowed_origins: ["*"]}
  - {name: ws, type: websocket}
  - name: hook
    type: webhook
    url: "https://user:url-s3cret@hooks.example.com/in?price=$$5"
    secret: short-s3cret
    headers: {Authorization: "Bearer hdr-s3cret"}
    batch: {max_events: 10}
`)
	code, stdout, stderr := runIn(t, dir, nil, "validate", "--print", "-c", cfg)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, secret := range []string{"db-s3cret", "url-s3cret", "short-s3cret", "hdr-s3cret"} {
		if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
			t.Errorf("the output holds %q:\n%s\n%s", secret, stdout, stderr)
		}
	}
	if strings.Contains(stdout, "ok (") || !strings.Contains(stderr, cfg+": ok (4 sinks, 1 warnings)") {
		t.Errorf("the status line is not on stderr alone:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, "sinks[3].secret: the signing key is 12 bytes") {
		t.Errorf("no warning about the short secret on stderr:\n%s", stderr)
	}
	// Each sink shows the keys of its type only: stdout and sse sinks have
	// no webhook settings, the webhook none of the broadcast ones.
	sinks := stdout[strings.Index(stdout, "sinks:"):]
	out, live, hook := sinks[strings.Index(sinks, "name: out"):strings.Index(sinks, "name: live")],
		sinks[strings.Index(sinks, "name: live"):strings.Index(sinks, "name: ws")], sinks[strings.Index(sinks, "name: hook"):]
	for _, key := range []string{" tls:", " retry:", " replay:", " timeout:", " heartbeat:"} {
		if strings.Contains(out, key) {
			t.Errorf("the stdout sink is printed with %s\n%s", key, out)
		}
	}
	if strings.Contains(live, " retry:") || strings.Contains(live, " batch:") || !strings.Contains(live, "heartbeat:") {
		t.Errorf("the sse sink is printed with the wrong keys:\n%s", live)
	}
	if strings.Contains(hook, "heartbeat:") || !strings.Contains(hook, "max_events: 10") || !strings.Contains(hook, "$$5") {
		t.Errorf("the webhook sink is printed with the wrong keys or values:\n%s", hook)
	}
	// The printed config is a config.
	printed := filepath.Join(dir, "printed.yaml")
	if err := os.WriteFile(printed, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	code, again, stderr := runIn(t, dir, nil, "validate", "--print", "-c", printed)
	if code != 0 {
		t.Fatalf("the printed config does not validate (exit %d):\n%s\n%s", code, stderr, stdout)
	}
	if again != stdout {
		t.Errorf("printing the printed config gives something else:\n%s\n---\n%s", stdout, again)
	}
}

// TestValidateReportsAllInOnePass: decoding problems and validation
// problems come out together.
func TestValidateReportsAllInOnePass(t *testing.T) {
	cfg := writeConfig(t, `source: {dsn: postgres://x@localhost/db, status_interval: soon}
sinks: [{name: a, type: kafka}]
log: {level: loud}
`)
	code, out := runOnce(t, "validate", "-c", cfg)
	expectFailure(t, code, out, exitConfig, "source.status_interval: invalid duration", `sinks[0].type: unknown sink type "kafka"`, `log.level: unknown level "loud"`)
}

// TestEnvOnlyConfig: without a config file, the environment may give
// what a command needs; otherwise the error says which variable is
// missing.
func TestEnvOnlyConfig(t *testing.T) {
	if _, err := os.Stat("/etc/pgcdc/pipeline.yaml"); err == nil {
		t.Skip("/etc/pgcdc/pipeline.yaml exists: pgcdc would use it")
	}
	dir := t.TempDir() // no pipeline.yaml here
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dsn := fmt.Sprintf("PGCDC_SOURCE_DSN=postgres://postgres:pw@127.0.0.1:%d/postgres?sslmode=disable", deadPort)

	// The config is complete: slot list gets as far as the database.
	code, _, stderr := runIn(t, dir, []string{dsn}, "slot", "list")
	if code != exitError || !strings.Contains(stderr, "cannot reach PostgreSQL") {
		t.Errorf("slot list with PGCDC_SOURCE_DSN: exit %d, want %d (cannot reach):\n%s", code, exitError, stderr)
	}
	// Nothing set: exit 78, naming the variable.
	code, _, stderr = runIn(t, dir, nil, "slot", "list")
	if code != exitConfig || !strings.Contains(stderr, "no config file") || !strings.Contains(stderr, "PGCDC_SOURCE_DSN") {
		t.Errorf("slot list without config: exit %d, want %d naming PGCDC_SOURCE_DSN:\n%s", code, exitConfig, stderr)
	}
	// run needs sinks, which only a file can give.
	code, _, stderr = runIn(t, dir, []string{dsn}, "run")
	if code != exitConfig || !strings.Contains(stderr, "sinks can only come from a file") || !strings.Contains(stderr, "sinks: required") {
		t.Errorf("run without config: exit %d, want %d:\n%s", code, exitConfig, stderr)
	}
	// A value from the environment that would crash a constructor is
	// refused by validate.
	cfg := writeConfig(t, "source: {dsn: postgres://x@localhost/db}\nsinks: [{type: stdout}]\n")
	code, _, stderr = runIn(t, dir, []string{"PGCDC_PIPELINE_SINK_QUEUE=9223372036854775807"}, "validate", "-c", cfg)
	if code != exitConfig || !strings.Contains(stderr, "pipeline.sink_queue: 9223372036854775807 is out of range") ||
		!strings.Contains(stderr, "(set by PGCDC_PIPELINE_SINK_QUEUE)") {
		t.Errorf("huge sink_queue from the environment: exit %d:\n%s", code, stderr)
	}
}

// TestDeadLetterReplayWithoutDSN: replaying needs the webhook sink, not
// the database.
func TestDeadLetterReplayWithoutDSN(t *testing.T) {
	dir := t.TempDir()
	dl := filepath.Join(dir, "dead.jsonl")
	if err := os.WriteFile(dl, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("sinks: [{name: hook, type: webhook, url: \"http://127.0.0.1:1/in\", dead_letter: %q}]\n", dl))
	code, stdout, stderr := runIn(t, dir, nil, "deadletter", "replay", "-c", cfg)
	if code != 0 || !strings.Contains(stdout, `sink "hook": 0 requests`) {
		t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
}

// TestConfigFlagsAndEnv: PGCDC_CONFIG names the file (read through
// viper, like the flags), and --slot wins over PGCDC_SOURCE_SLOT, which
// wins over the file; a problem with the flag's value names the flag.
func TestConfigFlagsAndEnv(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, "source: {dsn: postgres://x@127.0.0.1:1/db, slot: from_file}\nsinks: [{type: stdout}]\n")
	env := []string{"PGCDC_CONFIG=" + cfg, "PGCDC_SOURCE_SLOT=from_env"}
	code, _, stderr := runIn(t, dir, env, "slot", "create", "--slot", "Bad-Flag")
	if code != exitConfig || !strings.Contains(stderr, `source.slot: invalid replication slot name "Bad-Flag"`) ||
		!strings.Contains(stderr, "(set by --slot)") {
		t.Errorf("exit %d, want %d naming --slot:\n%s", code, exitConfig, stderr)
	}
	code, _, stderr = runIn(t, dir, []string{"PGCDC_CONFIG=" + cfg, "PGCDC_SOURCE_SLOT=Bad-Env"}, "slot", "create")
	if code != exitConfig || !strings.Contains(stderr, "(set by PGCDC_SOURCE_SLOT)") {
		t.Errorf("exit %d, want %d naming PGCDC_SOURCE_SLOT:\n%s", code, exitConfig, stderr)
	}
}

// TestConfigCheckedBeforeDatabase: run logs the config's warnings, and what only
// the process can check about a sink (the dead-letter directory) fails
// before anything touches the database.
func TestConfigCheckedBeforeDatabase(t *testing.T) {
	dir := t.TempDir()
	sink := `{name: hook, type: webhook, url: "http://127.0.0.1:1/in", secret: short-s3cret%s}`
	cfg := writeConfig(t, "source: {dsn: \"postgres://x:pw@127.0.0.1:1/db?sslmode=disable\"}\nsinks: ["+fmt.Sprintf(sink, "")+"]\n")
	code, _, stderr := runIn(t, dir, nil, "run", "-c", cfg)
	if code != exitError || !strings.Contains(stderr, "sinks[0].secret: the signing key is 12 bytes") ||
		!strings.Contains(stderr, "cannot reach PostgreSQL") || strings.Contains(stderr, "short-s3cret") {
		t.Errorf("exit %d, want %d with the warning logged, then the database error:\n%s", code, exitError, stderr)
	}
	cfg = writeConfig(t, "source: {dsn: \"postgres://x:pw@127.0.0.1:1/db?sslmode=disable\"}\nsinks: ["+
		fmt.Sprintf(sink, ", dead_letter: /nonexistent/dl.jsonl")+"]\n")
	code, _, stderr = runIn(t, dir, nil, "run", "-c", cfg)
	if code != exitConfig || !strings.Contains(stderr, "dead_letter /nonexistent/dl.jsonl: directory /nonexistent does not exist") ||
		strings.Contains(stderr, "PostgreSQL") {
		t.Errorf("exit %d, want %d on the dead-letter directory before the database:\n%s", code, exitConfig, stderr)
	}
}
