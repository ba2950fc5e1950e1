package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
)

func TestNewValidates(t *testing.T) {
	valid := func() config.Sink { return webhookConfig("hooks", "https://example.test/in") }
	tests := []struct {
		name   string
		mutate func(*config.Sink)
		want   []string // substrings of the error
	}{
		{"no url", func(c *config.Sink) { c.URL = "" }, []string{`"hooks"`, "url: is required"}},
		{"bad scheme", func(c *config.Sink) { c.URL = "ftp://x/y" }, []string{"url:", `"ftp"`}},
		{"no host", func(c *config.Sink) { c.URL = "http:///path" }, []string{"url: has no host"}},
		{"wrong type", func(c *config.Sink) { c.Type = "sse" }, []string{"type:", "webhook"}},
		{"bad format", func(c *config.Sink) { c.Format = "xml" }, []string{"format:", `"xml"`}},
		{"negative max_events", func(c *config.Sink) { c.Batch.MaxEvents = -1 }, []string{"batch.max_events"}},
		{"negative max_bytes", func(c *config.Sink) { c.Batch.MaxBytes = -1 }, []string{"batch.max_bytes"}},
		{"negative max_wait", func(c *config.Sink) { c.Batch.MaxWait = -time.Second }, []string{"batch.max_wait"}},
		{"max below initial", func(c *config.Sink) { c.Retry = config.Backoff{Initial: time.Minute, Max: time.Second} }, []string{"retry.max"}},
		{"negative timeout", func(c *config.Sink) { c.Timeout = -1 }, []string{"timeout"}},
		{"bad secret", func(c *config.Sink) { c.Secret = "whsec_%%%" }, []string{"secret:", "base64"}},
		{"reserved header", func(c *config.Sink) { c.Headers = map[string]string{"webhook-id": "x"} }, []string{"headers:", "webhook-id"}},
		{"bad header name", func(c *config.Sink) { c.Headers = map[string]string{"a b": "x"} }, []string{"headers:", `"a b"`}},
		{"header value with newline", func(c *config.Sink) { c.Headers = map[string]string{"X-A": "top\nsecret"} }, []string{"headers:", "line break"}},
		{"dead-letter dir missing", func(c *config.Sink) { c.DeadLetter = "/nonexistent/dir/dl.jsonl" }, []string{"dead_letter:", "/nonexistent/dir"}},
		{"cert without key", func(c *config.Sink) { c.TLS.CertFile = "c.pem" }, []string{"tls:", "key_file"}},
		{"missing ca", func(c *config.Sink) { c.TLS.CAFile = "/nonexistent/ca.pem" }, []string{"tls:", "ca_file"}},
		{"several problems at once", func(c *config.Sink) { c.URL = ""; c.Format = "xml" }, []string{"url:", "format:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mutate(&cfg)
			_, err := New(cfg, nil)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "top\nsecret") || strings.Contains(err.Error(), "%%%") {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	s, err := New(config.Sink{Name: "d", Webhook: config.Webhook{URL: "http://127.0.0.1:1/x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.set
	if got.timeout != defaultTimeout || got.format != "event" || got.maxEvents != 1 || got.array ||
		got.maxBytes != defaultMaxBytes || got.retry != (backoff{initial: defaultInitial, max: defaultMax, maxElapsed: defaultMaxElapsed}) {
		t.Fatalf("defaults %+v", got)
	}
}

// Secrets (signing key, header values, URL query and user info) appear in
// no log line, error or dead-letter record.
func TestSecretsNeverLeak(t *testing.T) {
	secrets := []string{"raw-signing-secret-0123456789", "Bearer hdr-s3cr3t", "qtok-s3cr3t", "pw-s3cr3t"}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "rejected", http.StatusForbidden)
	}))
	defer srv.Close()
	var logs syncBuffer
	dir := t.TempDir()
	cfg := webhookConfig("leak", strings.Replace(srv.URL, "http://", "http://user:pw-s3cr3t@", 1)+"/in?token=qtok-s3cr3t")
	cfg.Secret = secrets[0]
	cfg.Headers = map[string]string{"Authorization": secrets[1]}
	cfg.DeadLetter = filepath.Join(dir, "dl.jsonl")
	cfg.TLS.InsecureSkipVerify = true

	s, err := New(cfg, testLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	f := feed(ctx, split(makeEvents(2, 2), 2), true)
	if err := waitErr(t, runSink(ctx, s, f.in)); err != nil {
		t.Fatal(err)
	}
	cfg.DeadLetter = ""
	s2, _ := New(cfg, testLogger(&logs))
	f2 := feed(ctx, split(makeEvents(1, 1), 1), true)
	runErr := waitErr(t, runSink(ctx, s2, f2.in))
	if runErr == nil {
		t.Fatal("Run without dead_letter succeeded after a 403")
	}
	dl, _ := os.ReadFile(filepath.Join(dir, "dl.jsonl"))
	if !strings.Contains(logs.String(), "retrying") || len(dl) == 0 {
		t.Fatalf("the test produced no retry log or dead letter:\n%s", logs.String())
	}
	for _, where := range map[string]string{"logs": logs.String(), "error": runErr.Error(), "dead letter": string(dl)} {
		for _, secret := range secrets {
			if strings.Contains(where, secret) {
				t.Errorf("%q leaked:\n%s", secret, where)
			}
		}
	}
}
