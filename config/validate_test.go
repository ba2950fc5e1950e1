package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSetDefaults checks every default against its constant, and that a
// second call changes nothing.
func TestSetDefaults(t *testing.T) {
	c := &Config{Sinks: []Sink{{Type: TypeSSE}, {Type: TypeWebSocket}, {Type: TypeWebhook}, {Type: TypeStdout}}}
	c.SetDefaults()
	want := &Config{
		Source: Source{
			Type: SourceReplication, Slot: DefaultSlot, Publication: DefaultPublication, Tables: []string{DefaultTable},
			Snapshot: SnapshotNever, SnapshotChunkRows: DefaultSnapshotChunkRows, StatusInterval: 10 * time.Second,
			Reconnect: Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}, RetainedWALWarn: 1 << 30,
		},
		Pipeline: Pipeline{BatchEvents: 1024, SinkQueue: 64, MaxInflightBytes: 64 << 20, DrainTimeout: 30 * time.Second},
		Server: Server{Listen: "127.0.0.1:8080", Auth: Auth{Mode: "none"}, Limits: Limits{
			Connections: 10000, ConnectionsPerIP: 2000, SubscriptionsPerConnection: 64, ClientMessagesPerSecond: 20,
			MaxHeaderBytes: 64 << 10, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		}},
		Dashboard: Dashboard{Path: "/", Sink: "sse"},
		Log:       Log{Level: "info", Format: "text"},
	}
	broadcast := Broadcast{
		Replay:       Replay{MaxEvents: 10000, MaxBytes: 32 << 20, MaxAge: time.Hour},
		ClientBuffer: 1024, Heartbeat: 15 * time.Second, WriteTimeout: 10 * time.Second,
	}
	sse, ws := broadcast, broadcast
	sse.Path, sse.ClientRetry = "/events", 2*time.Second
	ws.Path, ws.MaxMessageBytes = "/ws", 64<<10
	want.Sinks = []Sink{
		{Name: "sse", Type: TypeSSE, Broadcast: sse},
		{Name: "websocket", Type: TypeWebSocket, Broadcast: ws},
		{Name: "webhook", Type: TypeWebhook, Webhook: Webhook{
			Timeout: 10 * time.Second, Format: "event",
			Batch: Batch{MaxEvents: 1, MaxBytes: 1 << 20},
			Retry: Backoff{Initial: 200 * time.Millisecond, Max: 30 * time.Second, MaxElapsed: time.Hour},
		}},
		{Name: "stdout", Type: TypeStdout},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	c.SetDefaults()
	if !reflect.DeepEqual(c, want) {
		t.Error("a second SetDefaults changed the config")
	}
	c.Source.DSN = "postgres://x"
	c.Sinks[2].URL = "http://localhost:9000/hooks"
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

// TestSetDefaultsSeveralOfAType: name and path are not defaulted when two
// sinks share a type, and Validate says so.
func TestSetDefaultsSeveralOfAType(t *testing.T) {
	c := &Config{Source: Source{DSN: "postgres://x"}, Sinks: []Sink{{Type: TypeSSE}, {Type: TypeSSE, Name: "b", Broadcast: Broadcast{Path: "/b"}}}}
	c.SetDefaults()
	if c.Sinks[0].Name != "" || c.Sinks[0].Path != "" {
		t.Fatalf("got name %q path %q, want both empty", c.Sinks[0].Name, c.Sinks[0].Path)
	}
	want := `sinks[0].name: required when several sinks have type "sse"` + "\n" +
		`sinks[0].path: required when several sinks have type "sse"`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestDefaultsKeepSetValues: a value in the file wins over its default.
func TestDefaultsKeepSetValues(t *testing.T) {
	cfg, err := Parse([]byte("source: {slot: mine, tables: [a.b]}\nsinks: [{type: webhook, retry: {max_elapsed: 5m}}]\n"), "t.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if cfg.Source.Slot != "mine" || !reflect.DeepEqual(cfg.Source.Tables, []string{"a.b"}) ||
		cfg.Sinks[0].Retry.MaxElapsed != 5*time.Minute || cfg.Sinks[0].Retry.Initial != DefaultRetryInitial {
		t.Errorf("got %+v %+v", cfg.Source, cfg.Sinks[0].Retry)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	tests := []struct {
		e    FieldError
		want string
	}{
		{FieldError{Path: "sinks[1].retry.max", Msg: "m"}, "sinks[1].retry.max: m"},
		{FieldError{Msg: "m"}, "m"},
		{FieldError{Path: "p", Msg: "m", File: "f.yaml"}, "f.yaml: p: m"},
		{FieldError{Path: "p", Msg: "m", File: "f.yaml", Line: 3, Column: 7}, "f.yaml:3:7: p: m"},
		{FieldError{Path: "p", Msg: "m", Line: 3}, "3: p: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	es := Errors{&tests[0].e, &tests[1].e}
	if es.Error() != "sinks[1].retry.max: m\nm" {
		t.Errorf("Errors.Error() = %q", es.Error())
	}
	var fe *FieldError
	if !errors.As(error(es), &fe) || fe.Path != "sinks[1].retry.max" {
		t.Error("errors.As does not find the first FieldError")
	}
}

// TestLocate: problems point at their key, or at the nearest written
// parent when the key is absent.
func TestLocate(t *testing.T) {
	src := "source:\n  dsn: x\nsinks:\n  - type: webhook\n    retry:\n      initial: 1s\n      max: 100ms\n"
	doc, err := ParseDocument([]byte(src), "p.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if line, col, ok := doc.Position("sinks[0].retry.max"); !ok || line != 7 || col != 7 {
		t.Errorf("Position = %d, %d, %v; want 7, 7, true", line, col, ok)
	}
	err = doc.Resolve(nil, NeedAll)
	want := "p.yaml:4:5: sinks[0].url: required: the receiver's http or https URL\n" +
		"p.yaml:7:7: sinks[0].retry.max: must be >= retry.initial (1s)"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// TestAliasBomb: exponential alias expansion is cut off with an error,
// quickly.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-a0: &a0 {type: sse}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "x-a%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("sinks: [*a39]\n")
	start := time.Now()
	_, err := Parse([]byte(b.String()), "bomb.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Fatalf("got %v, want a size error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestValidateReportsAll: one pass reports problems from every section.
func TestValidateReportsAll(t *testing.T) {
	c := &Config{
		Source:     Source{Slot: "BAD"},
		Transforms: []Transform{{}},
		Sinks:      []Sink{{Type: "kafka"}},
		Log:        Log{Level: "loud"},
	}
	c.SetDefaults()
	err := c.Validate()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %T", err)
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
	}
	want := []string{"source.dsn", "source.slot", "transforms[0]", "sinks[0].type", "log.level"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
	// Without defaults every required key is reported, nothing panics.
	if err := (&Config{Sinks: []Sink{{Type: TypeSSE}, {Type: TypeWebhook}}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "sinks[0].path: required") || !strings.Contains(err.Error(), "sinks[1].retry.initial") {
		t.Errorf("got %v", err)
	}
}

// TestWarnings: a short webhook secret and a webhook that does not verify
// certificates are warnings, located like errors; they do not fail Resolve.
func TestWarnings(t *testing.T) {
	src := `source: {dsn: postgres://x}
sinks:
  - {name: short, type: webhook, url: "https://h/x", secret: "only-16-bytes!!!"}
  - {name: long, type: webhook, url: "https://h/y", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", tls: {insecure_skip_verify: true}}
  - {name: unsigned, type: webhook, url: "https://h/z"}
`
	doc, err := ParseDocument([]byte(src), "w.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Resolve(nil, NeedAll); err != nil {
		t.Fatal(err)
	}
	want := `w.yaml:3:54: sinks[0].secret: the signing key is 16 bytes: use at least 24 (docs/webhooks.md), e.g. "whsec_" and the base64 of 32 random bytes` + "\n" +
		`w.yaml:4:109: sinks[1].tls.insecure_skip_verify: the receiver's certificate is not verified: anyone on the path can read and forge the requests`
	if got := doc.Warnings.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(doc.Warnings.Error(), "only-16") {
		t.Error("a warning quotes the secret")
	}
}

// TestNeeds: a command insists only on what it uses; the environment
// alone may configure the source.
func TestNeeds(t *testing.T) {
	tests := []struct {
		environ []string
		needs   Needs
		want    string // "" for no error
	}{
		{[]string{"PGCDC_SOURCE_DSN=postgres://x"}, NeedSource, ""},
		{nil, NeedSource, "source.dsn: required: set it in the file (e.g. dsn: ${DATABASE_URL}) or as PGCDC_SOURCE_DSN"},
		{nil, NeedSinks, "sinks: required"},
		{[]string{"PGCDC_SOURCE_DSN=postgres://x"}, NeedAll, "sinks: required"},
		{[]string{"PGCDC_SOURCE_SLOT=BAD"}, NeedSinks, "source.slot: invalid"}, // what is set is checked either way
	}
	for _, tt := range tests {
		doc, err := ParseDocument(nil, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = doc.Resolve(tt.environ, tt.needs)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v needs %d: got %v, want %q", tt.environ, tt.needs, err, tt.want)
		}
	}
	// A sink-only config (deadletter replay) needs no DSN.
	doc, _ := ParseDocument([]byte("sinks: [{type: webhook, url: \"http://h/x\"}]\n"), "d.yaml", nil)
	if err := doc.Resolve(nil, NeedSinks); err != nil {
		t.Errorf("NeedSinks: %v", err)
	}
}

// TestSettingsWinOverEnv: a setting (a command-line flag) overrides both
// the file and the environment, and a problem with it names the flag.
func TestSettingsWinOverEnv(t *testing.T) {
	doc, _ := ParseDocument([]byte("source: {dsn: postgres://x, slot: file}\nsinks: [{type: stdout}]\n"), "s.yaml", nil)
	err := doc.Resolve([]string{"PGCDC_SOURCE_SLOT=env"}, NeedAll, Setting{Key: "source.slot", Value: "flag", From: "--slot"})
	if err != nil || doc.Config.Source.Slot != "flag" {
		t.Fatalf("slot %q, err %v", doc.Config.Source.Slot, err)
	}
	doc, _ = ParseDocument([]byte("source: {dsn: postgres://x}\nsinks: [{type: stdout}]\n"), "s.yaml", nil)
	err = doc.Resolve(nil, NeedAll, Setting{Key: "source.publication", Value: "Bad Name", From: "--publication"})
	if err == nil || !strings.Contains(err.Error(), `source.publication: invalid publication name "Bad Name"`) || !strings.Contains(err.Error(), "(set by --publication)") {
		t.Errorf("got %v", err)
	}
}
