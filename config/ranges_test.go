package config

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rangeBase is a valid config with a sink of every type, so that every
// numeric key is in use.
const rangeBase = `
source: {dsn: postgres://x@localhost/db}
server: {auth: {mode: jwt, jwt: {secret: "0123456789abcdef0123456789abcdef"}}}
sinks:
  - {name: live, type: sse}
  - {name: ws, type: websocket}
  - {name: hook, type: webhook, url: "http://localhost:9000/hooks"}
  - {name: out, type: stdout}
  - {name: stream, type: nats, url: "nats://localhost:4222"}
`

// numericPaths lists the key paths of every number and duration of c
// that applies to its sinks' types.
func numericPaths(v reflect.Value, path string, out map[string]reflect.Value) {
	t := v.Type()
	switch {
	case t == durationType || t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		out[path] = v
	case t.Kind() == reflect.Struct:
		for _, f := range fieldsOf(t) {
			numericPaths(v.FieldByIndex(f.index), join(path, f.name), out)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		for i := range v.Len() {
			p := index(path, i)
			if s, ok := v.Index(i).Interface().(Sink); ok {
				for _, f := range fieldsOf(reflect.TypeFor[Sink]()) {
					if f.name == "name" || f.name == "type" || contains(typeFields[s.Type], f.name) {
						numericPaths(v.Index(i).FieldByIndex(f.index), join(p, f.name), out)
					}
				}
				continue
			}
			numericPaths(v.Index(i), p, out)
		}
	}
}

// TestEveryNumberHasARange: every number and duration, set far too high
// or below zero, is refused with a message naming the key (and its range,
// or the key it must not be below).
func TestEveryNumberHasARange(t *testing.T) {
	probe, err := Parse([]byte(rangeBase), "r.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	probe.SetDefaults()
	paths := map[string]reflect.Value{}
	numericPaths(reflect.ValueOf(probe).Elem(), "", paths)
	if len(paths) != 47 { // update when a numeric key is added
		t.Fatalf("found only %d numeric keys: %v", len(paths), paths)
	}
	for path := range paths {
		for _, val := range []int64{math.MaxInt64, -1} {
			cfg, _ := Parse([]byte(rangeBase), "r.yaml", nil)
			cfg.SetDefaults()
			vals := map[string]reflect.Value{}
			numericPaths(reflect.ValueOf(cfg).Elem(), "", vals)
			vals[path].SetInt(val)
			err := cfg.Validate()
			var es Errors
			if !errors.As(err, &es) {
				t.Errorf("%s = %d: accepted", path, val)
				continue
			}
			found := false
			for _, e := range es {
				if e.Path == path && (strings.Contains(e.Msg, "out of range: want") || strings.Contains(e.Msg, "must be >=")) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s = %d: no range problem for the key in:\n%v", path, val, err)
			}
		}
	}
}

// TestRangeMessages: the message names the key and the range in the
// units the file uses.
func TestRangeMessages(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"pipeline: {sink_queue: 1000000000000}", "p.yaml:1:12: pipeline.sink_queue: 1000000000000 is out of range: want 1 to 65536"},
		{"sinks: [{type: sse, heartbeat: 1ns}]", "p.yaml:1:21: sinks[0].heartbeat: 1ns is out of range: want 1s to 1h"},
		{"sinks: [{type: sse, replay: {max_events: 4611686018427387905}}]", "p.yaml:1:30: sinks[0].replay.max_events: 4611686018427387905 is out of range: want 1 to 10000000"},
		{"sinks: [{type: sse, replay: {max_bytes: 1099511627776}}]", "want 1 to 68719476736 (64 GiB)"},
		{"sinks: [{type: webhook, url: \"http://h/x\", retry: {max_elapsed: -1s}}]", "retry.max_elapsed: -1s is out of range: want 0 to 720h (0: the default, 1h)"},
		{"source: {reconnect: {max_elapsed: -1s}}", "source.reconnect.max_elapsed: -1s is out of range: want 0 to 720h (0: retry forever)"},
	} {
		doc, err := ParseDocument([]byte(tt.yaml+"\n"), "p.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = doc.Resolve([]string{"PGCDC_SOURCE_DSN=postgres://x"}, NeedAll)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got\n%v\nwant it to contain %q", tt.yaml, err, tt.want)
		}
	}
	// From the environment, a value too large for makechan is refused too.
	doc, _ := ParseDocument([]byte(rangeBase), "p.yaml", nil)
	err := doc.Resolve([]string{"PGCDC_PIPELINE_SINK_QUEUE=9223372036854775807"}, NeedAll)
	want := "pipeline.sink_queue: 9223372036854775807 is out of range: want 1 to 65536 (set by PGCDC_PIPELINE_SINK_QUEUE)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestDeepNestingIsCheap: deep nesting is refused before the YAML parser
// sees it (80 KB of "[" took 2.5 GB in the parser), with the line.
func TestDeepNestingIsCheap(t *testing.T) {
	for name, data := range map[string]string{
		"flow":  "source: " + strings.Repeat("[", 80_000),
		"block": "sinks:\n" + strings.Repeat("- ", 40_000) + "x\n",
		"indented": "a:\n" + func() string {
			var b strings.Builder
			for i := 1; i < 100; i++ {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(),
		"too large": "# " + strings.Repeat("x", maxFileBytes) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Parse([]byte(data), "deep.yaml", nil)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "deep.yaml") ||
				!strings.Contains(err.Error(), "levels deep") && !strings.Contains(err.Error(), "too large") {
				t.Fatalf("got %v", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing it allocated %d MiB", alloc>>20)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing it took %v", d)
			}
		})
	}
	// The limit is not a guess about ordinary files: 60 levels pass.
	if _, err := Parse([]byte("x-a: "+strings.Repeat("[", 60)+strings.Repeat("]", 60)+"\n"), "ok.yaml", nil); err != nil {
		t.Errorf("60 levels: %v", err)
	}
}
