package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envBase is the config the override tests start from.
const envBase = `
source:
  dsn: postgres://file
  reconnect: {initial: 1s, max: 2s, max_elapsed: 3s}
transforms:
  - filter: {tables: ["public.*"]}
sinks:
  - {name: live-feed, type: sse}
  - name: billing
    type: webhook
    url: http://file/hooks
    headers: {Authorization: "Bearer file"}
    retry: {initial: 1s, max: 2s, max_elapsed: 3s}
  - {type: websocket}
`

func loadEnvBase(t *testing.T) *Config {
	t.Helper()
	cfg, err := Parse([]byte(envBase), "base.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		env  string
		get  func(*Config) any
		want any
	}{
		{"PGCDC_SOURCE_DSN=postgres://env", func(c *Config) any { return c.Source.DSN }, "postgres://env"},
		{"PGCDC_SOURCE_DSN=", func(c *Config) any { return c.Source.DSN }, ""},
		{"PGCDC_SERVER_LISTEN=:9999", func(c *Config) any { return c.Server.Listen }, ":9999"},
		{"PGCDC_PIPELINE_SINK_QUEUE=7", func(c *Config) any { return c.Pipeline.SinkQueue }, 7},
		{"PGCDC_PIPELINE_MAX_INFLIGHT_BYTES=4096", func(c *Config) any { return c.Pipeline.MaxInflightBytes }, int64(4096)},
		{"PGCDC_LOG_LEVEL=debug", func(c *Config) any { return c.Log.Level }, "debug"},
		{"PGCDC_SOURCE_CREATE=true", func(c *Config) any { return c.Source.Create }, true},
		{"PGCDC_SOURCE_RECONNECT_MAX=9s", func(c *Config) any { return c.Source.Reconnect }, Backoff{time.Second, 9 * time.Second, 3 * time.Second}},
		{"PGCDC_SOURCE_RECONNECT_MAX_ELAPSED=5m", func(c *Config) any { return c.Source.Reconnect }, Backoff{time.Second, 2 * time.Second, 5 * time.Minute}},
		{"PGCDC_SOURCE_TABLES=public.a, billing.* ,", func(c *Config) any { return c.Source.Tables }, []string{"public.a", "billing.*"}},
		{"PGCDC_SINKS_1_URL=http://env/1", func(c *Config) any { return c.Sinks[1].URL }, "http://env/1"},
		{"PGCDC_SINKS_BILLING_URL=http://env/b", func(c *Config) any { return c.Sinks[1].URL }, "http://env/b"},
		{"PGCDC_SINKS_BILLING_RETRY_MAX_ELAPSED=2h", func(c *Config) any { return c.Sinks[1].Retry.MaxElapsed }, 2 * time.Hour},
		{"PGCDC_SINKS_LIVE_FEED_PATH=/feed", func(c *Config) any { return c.Sinks[0].Path }, "/feed"},
		{"PGCDC_SINKS_WEBSOCKET_PATH=/socket", func(c *Config) any { return c.Sinks[2].Path }, "/socket"},
		{"PGCDC_SINKS_0_ALLOWED_ORIGINS=https://a.example,https://b.example", func(c *Config) any { return c.Sinks[0].AllowedOrigins }, []string{"https://a.example", "https://b.example"}},
		{"PGCDC_SINKS_0_EVENT_NAMES=1", func(c *Config) any { return c.Sinks[0].EventNames }, true},
		{"PGCDC_SINKS_BILLING_HEADERS_AUTHORIZATION=Bearer env", func(c *Config) any { return c.Sinks[1].Headers }, map[string]string{"Authorization": "Bearer env"}},
		{"PGCDC_SINKS_BILLING_HEADERS_X_API_KEY=k", func(c *Config) any { return c.Sinks[1].Headers }, map[string]string{"Authorization": "Bearer file", "X-Api-Key": "k"}},
		{"PGCDC_SINKS_BILLING_FILTER_TABLES=public.orders", func(c *Config) any { return c.Sinks[1].Filter }, &Filter{Tables: []string{"public.orders"}}},
		{"PGCDC_TRANSFORMS_0_FILTER_WHERE=region=in.(eu,us), status=eq.paid", func(c *Config) any { return c.Transforms[0].Filter.Where }, []string{"region=in.(eu,us)", "status=eq.paid"}},
		{"PGCDC_TRANSFORMS_0_FILTER_EXCLUDE_TABLES=public.audit_*", func(c *Config) any { return c.Transforms[0].Filter.ExcludeTables }, []string{"public.audit_*"}},
		{"PGCDC_SERVER_AUTH_JWT_JWKS_URL=https://id.example/jwks", func(c *Config) any { return c.Server.Auth.JWT.JWKSURL }, "https://id.example/jwks"},
		{"pgcdc_source_dsn=lower", func(c *Config) any { return c.Source.DSN }, "postgres://file"}, // not our prefix
		{"PGCDC_CONFIG=/etc/pgcdc.yaml", func(c *Config) any { return c.Source.DSN }, "postgres://file"},
		{"HOME=/root", func(c *Config) any { return c.Source.DSN }, "postgres://file"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cfg := loadEnvBase(t)
			if err := ApplyEnv(cfg, []string{tt.env}); err != nil {
				t.Fatal(err)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestApplyEnvErrors(t *testing.T) {
	tests := []struct {
		env, want string
	}{
		{"PGCDC_SOURCE_DNS=x", "PGCDC_SOURCE_DNS: names no config key (did you mean PGCDC_SOURCE_DSN?)"},
		{"PGCDC_SINKS_BILLING_TIEMOUT=1s", "PGCDC_SINKS_BILLING_TIEMOUT: names no config key (did you mean PGCDC_SINKS_BILLING_TIMEOUT?)"},
		{"PGCDC_NOPE=x", "PGCDC_NOPE: names no config key"},
		{"PGCDC_=x", "PGCDC_: names no config key"},
		{"PGCDC_SOURCE__DSN=x", "PGCDC_SOURCE__DSN: names no config key"},
		{"PGCDC_SINKS_5_URL=x", "PGCDC_SINKS_5_URL: sinks has 3 entries: index 5 is out of range"},
		{"PGCDC_SINKS_KAFKA_URL=x", "PGCDC_SINKS_KAFKA_URL: names no config key"},
		{"PGCDC_SOURCE=x", "PGCDC_SOURCE: source is a section, not a key"},
		{"PGCDC_SOURCE_DSN_EXTRA=x", "PGCDC_SOURCE_DSN_EXTRA: names no config key"},
		{"PGCDC_PIPELINE_SINK_QUEUE=abc", `PGCDC_PIPELINE_SINK_QUEUE: pipeline.sink_queue: want a whole number, got "abc"`},
		{"PGCDC_SOURCE_CREATE=yes please", `PGCDC_SOURCE_CREATE: source.create: want true or false, got "yes please"`},
		{"PGCDC_SOURCE_STATUS_INTERVAL=10", `PGCDC_SOURCE_STATUS_INTERVAL: source.status_interval: invalid duration "10"`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cfg := loadEnvBase(t)
			before := cfg.deepCopyForTest()
			err := ApplyEnv(cfg, []string{tt.env})
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
			if !reflect.DeepEqual(cfg, before) {
				t.Error("a rejected override changed the config")
			}
		})
	}
}

// TestApplyEnvAllProblems: every bad variable is reported, the good ones
// are applied, in name order.
func TestApplyEnvAllProblems(t *testing.T) {
	cfg := loadEnvBase(t)
	err := ApplyEnv(cfg, []string{"PGCDC_Z_UNKNOWN=1", "PGCDC_LOG_LEVEL=warn", "PGCDC_A_UNKNOWN=1"})
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Path != "PGCDC_A_UNKNOWN" || es[1].Path != "PGCDC_Z_UNKNOWN" {
		t.Fatalf("got %v", err)
	}
	if cfg.Log.Level != "warn" {
		t.Errorf("log.level = %q, want the good override applied", cfg.Log.Level)
	}
}

// TestApplyEnvSecretsNotEchoed: a value for a string key is never quoted
// in a message (there is no failing string key, but a wrong path must not
// quote the value either).
func TestApplyEnvSecretsNotEchoed(t *testing.T) {
	cfg := loadEnvBase(t)
	err := ApplyEnv(cfg, []string{"PGCDC_SINKS_BILING_SECRET=hunter2"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

// TestResolveOverridesBeforeDefaults: an override is applied before the
// defaults and validated like a file value; a problem with it names the
// variable, a problem with a file value its line.
func TestResolveOverridesBeforeDefaults(t *testing.T) {
	environ := []string{"PGCDC_SOURCE_SLOT=Bad-Slot", "PGCDC_SINKS_BILLING_RETRY_MAX=10ms", "PGCDC_NOPE=1"}
	tests := []struct {
		src, want string
	}{
		{envBase, "PGCDC_NOPE: names no config key\n" +
			"source.slot: invalid replication slot name \"Bad-Slot\": want 1 to 63 lowercase letters, digits or _ (set by PGCDC_SOURCE_SLOT)\n" +
			"sinks[1].retry.max: must be >= retry.initial (1s) (set by PGCDC_SINKS_BILLING_RETRY_MAX)"},
		{strings.Replace(envBase, "retry: {initial: 1s", "retry: {initial: -1s", 1), "PGCDC_NOPE: names no config key\n" +
			"source.slot: invalid replication slot name \"Bad-Slot\": want 1 to 63 lowercase letters, digits or _ (set by PGCDC_SOURCE_SLOT)\n" +
			"base.yaml:13:13: sinks[1].retry.initial: -1s is out of range: want 1ms to 1h"},
	}
	for _, tt := range tests {
		doc, err := ParseDocument([]byte(tt.src), "base.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Resolve(environ, NeedAll); err == nil || err.Error() != tt.want {
			t.Errorf("got:\n%v\nwant:\n%s", err, tt.want)
		}
		if doc.Config.Pipeline.SinkQueue != DefaultSinkQueue {
			t.Error("defaults not applied")
		}
	}
}
