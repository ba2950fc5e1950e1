package wiring

import (
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// resolve decodes src, applies defaults and validates it, as pgcdc run
// does.
func resolve(t *testing.T, src string) (*config.Config, error) {
	t.Helper()
	doc, err := config.ParseDocument([]byte(src), "p.yaml", nil)
	if doc == nil {
		t.Fatalf("parse: %v", err)
	}
	err = doc.Resolve(nil, config.NeedAll)
	return doc.Config, err
}

// Every key of a webhook sink reaches webhook.Config typed, and the keys
// left out take config's defaults: there is no other place they come
// from.
func TestWebhookConfig(t *testing.T) {
	cfg, err := resolve(t, `
source: {dsn: postgres://x@localhost/db}
sinks:
  - name: full
    type: webhook
    url: https://user:pw@hooks.example.com/in?token=t
    headers: {authorization: "Bearer abc", x-tenant: acme}
    timeout: 3s
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    format: cloudevents
    batch: {max_events: 100, max_bytes: 262144, max_wait: 250ms}
    retry: {initial: 100ms, max: 10s, max_elapsed: 24h}
    dead_letter: /var/lib/pgcdc/dead.jsonl
    tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, server_name: hooks.example.com, insecure_skip_verify: true}
  - {name: minimal, type: webhook, url: "http://localhost:9000/hooks"}
`)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := webhook.ParseKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	want := []webhook.Config{{
		Name:        "full",
		URL:         "https://user:pw@hooks.example.com/in?token=t",
		Headers:     http.Header{"Authorization": {"Bearer abc"}, "X-Tenant": {"acme"}},
		Timeout:     3 * time.Second,
		Key:         key,
		CloudEvents: true,
		MaxEvents:   100, MaxBytes: 262144, MaxWait: 250 * time.Millisecond,
		Retry:      webhook.Retry{Initial: 100 * time.Millisecond, Max: 10 * time.Second, MaxElapsed: 24 * time.Hour},
		DeadLetter: "/var/lib/pgcdc/dead.jsonl",
		TLS:        webhook.TLS{CAFile: "/ca.pem", CertFile: "/c.pem", KeyFile: "/k.pem", ServerName: "hooks.example.com", InsecureSkipVerify: true},
	}, {
		Name:      "minimal",
		URL:       "http://localhost:9000/hooks",
		Headers:   http.Header{},
		Timeout:   config.DefaultWebhookTimeout,
		MaxEvents: config.DefaultBatchMaxEvents, MaxBytes: config.DefaultBatchMaxBytes, MaxWait: config.DefaultBatchMaxWait,
		Retry: webhook.Retry{Initial: config.DefaultRetryInitial, Max: config.DefaultRetryMax,
			MaxElapsed: config.DefaultRetryMaxElapsed},
	}}
	for i, w := range want {
		got, err := WebhookConfig(cfg.Sinks[i])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("sinks[%d]:\ngot  %+v\nwant %+v", i, got, w)
		}
	}
}

// What is wrong with a webhook sink is config's to say, once, naming the
// key: these are the checks the webhook package used to repeat.
func TestWebhookProblemsAreConfigs(t *testing.T) {
	tests := []struct {
		name, sink string
		want       []string // substrings of the error
	}{
		{"no url", `{name: hooks, type: webhook}`, []string{"sinks[0].url: required"}},
		{"bad scheme", `{name: hooks, type: webhook, url: "ftp://x/y"}`, []string{"sinks[0].url:", `"ftp"`}},
		{"no host", `{name: hooks, type: webhook, url: "http:///path"}`, []string{"sinks[0].url:", "host"}},
		{"a field of another type", `{name: hooks, type: sse, url: "https://example.test/in"}`, []string{"sinks[0].url:", "not a field of an sse sink"}},
		{"bad format", `{name: hooks, type: webhook, url: "https://example.test/in", format: xml}`, []string{"sinks[0].format:", `"xml"`}},
		{"negative max_events", `{name: hooks, type: webhook, url: "https://example.test/in", batch: {max_events: -1}}`, []string{"sinks[0].batch.max_events:", "out of range"}},
		{"negative max_bytes", `{name: hooks, type: webhook, url: "https://example.test/in", batch: {max_bytes: -1}}`, []string{"sinks[0].batch.max_bytes:", "out of range"}},
		{"negative max_wait", `{name: hooks, type: webhook, url: "https://example.test/in", batch: {max_wait: -1s}}`, []string{"sinks[0].batch.max_wait:", "out of range"}},
		{"max below initial", `{name: hooks, type: webhook, url: "https://example.test/in", retry: {initial: 1m, max: 1s}}`, []string{"sinks[0].retry.max:", "retry.initial"}},
		{"negative timeout", `{name: hooks, type: webhook, url: "https://example.test/in", timeout: -1ns}`, []string{"sinks[0].timeout:", "out of range"}},
		{"tiny timeout", `{name: hooks, type: webhook, url: "https://example.test/in", timeout: 1ns}`, []string{"sinks[0].timeout:", "100ms to 10m"}},
		{"bad secret", `{name: hooks, type: webhook, url: "https://example.test/in", secret: "whsec_%%%"}`, []string{"sinks[0].secret:", "base64"}},
		{"reserved header", `{name: hooks, type: webhook, url: "https://example.test/in", headers: {webhook-id: x}}`, []string{"sinks[0].headers.webhook-id:", "set by pgcdc"}},
		{"bad header name", `{name: hooks, type: webhook, url: "https://example.test/in", headers: {"a b": x}}`, []string{"sinks[0].headers.a b:", "invalid header name"}},
		{"header value with newline", `{name: hooks, type: webhook, url: "https://example.test/in", headers: {X-A: "top\nsecret"}}`, []string{"sinks[0].headers.X-A:", "CR, LF"}},
		{"cert without key", `{name: hooks, type: webhook, url: "https://example.test/in", tls: {cert_file: c.pem}}`, []string{"sinks[0].tls:", "key_file"}},
		{"several problems at once", `{name: hooks, type: webhook, format: xml}`, []string{"sinks[0].url:", "sinks[0].format:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolve(t, "source: {dsn: postgres://x@localhost/db}\nsinks:\n  - "+tt.sink+"\n")
			if err == nil {
				t.Fatal("the config was accepted")
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

// discardLogger logs nothing.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// config and webhook.ParseKey read a secret alike: config refuses what
// ParseKey refuses, and warns exactly when the key ParseKey makes is
// shorter than 24 bytes.
func TestSecretReadAlike(t *testing.T) {
	for _, secret := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", // 24 bytes, padded form
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  // not a multiple of 4: unpadded
		"whsec_c2hvcnQ=", "whsec_c2hvcnQ",        // 5 bytes, padded and not
		"whsec_", "whsec_%%%", "whsec_c2hvcnQ===", // invalid
		"a raw secret of 24 bytes", "short",
	} {
		key, keyErr := webhook.ParseKey(secret)
		doc, _ := config.ParseDocument([]byte(fmt.Sprintf("source: {dsn: postgres://x}\nsinks: [{type: webhook, url: \"http://h/x\", secret: %q}]\n", secret)), "s.yaml", nil)
		err := doc.Resolve(nil, config.NeedAll)
		if (err != nil) != (keyErr != nil) {
			t.Errorf("%q: config says %v, ParseKey says %v", secret, err, keyErr)
			continue
		}
		if err == nil && (len(doc.Warnings) > 0) != (key.Len() < 24) {
			t.Errorf("%q: a %d-byte key, warnings %v", secret, key.Len(), doc.Warnings)
		}
	}
}
