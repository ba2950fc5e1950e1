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

	"github.com/pgcdc/pgcdc/internal/logtest"
)

// New fails on what only the running process can check, before the sink
// runs: the dead-letter file cannot be written, a TLS file does not load.
// Everything else in a Config is package config's to check (see
// internal/wiring's tests).
func TestNewChecksTheProcess(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // substrings of the error
	}{
		{"dead-letter dir missing", func(c *Config) { c.DeadLetter = "/nonexistent/dir/dl.jsonl" }, []string{`"hooks"`, "dead_letter", "/nonexistent/dir"}},
		{"dead-letter is a directory", func(c *Config) { c.DeadLetter = dir }, []string{"dead_letter", dir}},
		{"missing ca", func(c *Config) { c.TLS.CAFile = "/nonexistent/ca.pem" }, []string{"tls:", "ca_file"}},
		{"ca without a certificate", func(c *Config) { c.TLS.CAFile = notPEM }, []string{"tls:", "ca_file", "no PEM certificate"}},
		{"missing client certificate", func(c *Config) { c.TLS.CertFile, c.TLS.KeyFile = "/nonexistent/c.pem", "/nonexistent/k.pem" }, []string{"tls:", "cert_file"}},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, struct {
			name   string
			mutate func(*Config)
			want   []string
		}{"dead-letter dir read-only", func(c *Config) { c.DeadLetter = filepath.Join(readOnly, "dl.jsonl") }, []string{"dead_letter", "not writable"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := webhookConfig("hooks", "https://example.test/in")
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
		})
	}
	// A dead-letter file in a writable directory is fine, and the check
	// leaves nothing behind.
	cfg := webhookConfig("hooks", "https://example.test/in")
	cfg.DeadLetter = filepath.Join(dir, "dl.jsonl")
	if _, err := New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 { // ca.pem and ro
		t.Errorf("the write check left files behind: %v", entries)
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
	var logs logtest.Buffer
	dir := t.TempDir()
	cfg := webhookConfig("leak", strings.Replace(srv.URL, "http://", "http://user:pw-s3cr3t@", 1)+"/in?token=qtok-s3cr3t")
	cfg.Key = mustKey(t, secrets[0])
	cfg.Headers = http.Header{"Authorization": {secrets[1]}}
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
