package webhook

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// referenceVersion is the Standard Webhooks reference library checked.
const referenceVersion = "standardwebhooks@1.1.1"

// lookTool returns the path of a tool the test needs. It skips when the
// tool is missing, except in CI (CI=true), where it fails.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// referenceLibrary installs the reference JavaScript library from npm once
// into the user's cache directory and returns its node_modules directory.
func referenceLibrary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pgcdc-test", strings.ReplaceAll(referenceVersion, "@", "-"))
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "standardwebhooks", "package.json")); err == nil {
		return modules
	}
	npm := lookTool(t, "npm")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--no-package-lock",
		"--prefix", dir, referenceVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install %s: %v\n%s", referenceVersion, err, out)
	}
	return modules
}

// verifyScript checks every case with the reference library and signs the
// specification's test vector; it prints a JSON array of results.
const verifyScript = `
const { Webhook } = require('standardwebhooks');
const cases = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const out = [new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')
  .sign('msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), '{"test": 2432232314}')];
for (const c of cases) {
  const wh = c.raw ? new Webhook(c.secret, { format: 'raw' }) : new Webhook(c.secret);
  try { wh.verify(Buffer.from(c.body, 'base64'), c.headers); out.push('ok'); }
  catch (e) { out.push('rejected: ' + e.message); }
}
console.log(JSON.stringify(out));
`

type referenceCase struct {
	Secret  string            `json:"secret"`
	Raw     bool              `json:"raw"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"` // base64
}

// Requests signed by the sink verify with the specification's reference
// JavaScript library, and that library reproduces the test vector.
func TestReferenceLibraryVerifies(t *testing.T) {
	node := lookTool(t, "node")
	modules := referenceLibrary(t)

	var cases []referenceCase
	add := func(secret string, raw bool, cfg Config, evs []*pipeline.Event, opts ...Option) {
		cfg.Key = mustKey(t, secret)
		for _, r := range captureOne(t, cfg, evs, opts...) {
			cases = append(cases, referenceCase{
				Secret: secret, Raw: raw, Body: base64.StdEncoding.EncodeToString(r.body),
				Headers: map[string]string{
					HeaderID: r.header.Get(HeaderID), HeaderTimestamp: r.header.Get(HeaderTimestamp),
					HeaderSignature: r.header.Get(HeaderSignature),
				},
			})
		}
	}
	evs := makeEvents(3, 3)
	single := webhookConfig("ref", "")
	add(testSecret, false, single, evs[:1])
	batch := webhookConfig("ref", "")
	batch.MaxEvents = 3
	batch.CloudEvents = true
	add(testSecret, false, batch, evs, WithDatabase("shop"))
	add("a raw secret, not base64", true, single, evs[:1])
	tampered := cases[0]
	tampered.Body = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(mustB64(t, tampered.Body)), `"id"`, `"ID"`, 1)))
	cases = append(cases, tampered)

	dir := t.TempDir()
	casesFile := filepath.Join(dir, "cases.json")
	data, _ := json.Marshal(cases)
	if err := os.WriteFile(casesFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "verify.js")
	if err := os.WriteFile(script, []byte(verifyScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, casesFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var results []string
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("node printed %s: %v", out, err)
	}
	want := []string{vectorSignature, "ok", "ok", "ok", "rejected: No matching signature found"}
	if !slices.Equal(results, want) {
		t.Fatalf("reference library says %q, want %q", results, want)
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The JavaScript receiver example accepts the sink's signed requests,
// skips redelivered events, and rejects a forged request.
func TestJSReceiverExample(t *testing.T) {
	node := lookTool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("..", "..", "examples", "webhook-receiver-js", "server.js"))
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+testSecret, "PORT=0", "HOST=127.0.0.1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the example exited")
			}
			return l
		case <-ctx.Done():
			t.Fatal("timed out reading the example's output")
			return ""
		}
	}
	url, ok := strings.CutPrefix(next(), "listening on ")
	if !ok {
		t.Fatalf("unexpected first line")
	}

	evs := makeEvents(4, 2)
	deliver := func(maxEvents int) {
		cfg := webhookConfig("js", url)
		cfg.MaxEvents = maxEvents
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := feed(ctx, split(evs, 2), true)
		if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
			t.Fatalf("Run: %v", err)
		}
		f.ackedInOrder(t, 2)
	}
	deliver(1)
	for _, e := range evs {
		if l, want := next(), "processed "+e.ID()+" "+string(e.Op)+" public."+e.Table; l != want {
			t.Fatalf("example printed %q, want %q", l, want)
		}
	}
	deliver(3) // a redelivery, batched differently
	for _, e := range evs {
		if l, want := next(), "duplicate "+e.ID(); l != want {
			t.Fatalf("example printed %q, want %q", l, want)
		}
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(evs[0].Encoded())))
	req.Header.Set(HeaderID, evs[0].ID())
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10)) // fresh: only the signature is wrong
	req.Header.Set(HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged request answered %d, want 401", resp.StatusCode)
	}
}
