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
			Slot: DefaultSlot, Publication: DefaultPublication, Tables: []string{DefaultTable},
			Snapshot: SnapshotNever, StatusInterval: 10 * time.Second,
			Reconnect: Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}, RetainedWALWarn: 1 << 30,
		},
		Pipeline: Pipeline{BatchEvents: 1024, SinkQueue: 64, MaxInflightBytes: 64 << 20, DrainTimeout: 30 * time.Second},
		Server:   Server{Listen: "127.0.0.1:8080", Auth: Auth{Mode: "none"}},
		Log:      Log{Level: "info", Format: "text"},
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
	err = doc.Resolve(nil)
	want := "p.yaml:4:5: sinks[0].url: required: the receiver's http or https URL\n" +
		"p.yaml:7:7: sinks[0].retry.max: must be >= retry.initial (1s)"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	other := errors.New("plain")
	if doc.Locate(other) != other {
		t.Error("Locate changed a non-Errors error")
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
