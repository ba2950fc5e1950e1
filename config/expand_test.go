package config

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := MapEnv(map[string]string{"A": "alpha", "EMPTY": "", "N": "42"})
	tests := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-y", want: "x-alpha-y"},
		{in: "${A}${N}", want: "alpha42"},
		{in: "${EMPTY}", want: ""},
		{in: "${EMPTY:-def}", want: "def"},
		{in: "${UNSET:-def}", want: "def"},
		{in: "${UNSET:-}", want: ""},
		{in: "${A:-def}", want: "alpha"},
		{in: "${UNSET:-a:b/c?d=e}", want: "a:b/c?d=e"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "$$${A}", want: "$alpha"},
		{in: "pa$word", want: "pa$word"},
		{in: "trailing$", want: "trailing$"},
		{in: "$A", want: "$A"},
		{in: "${UNSET}", err: "${UNSET} is not set"},
		{in: "x ${A", err: `unterminated "${"`},
		{in: "${}", err: "invalid variable name"},
		{in: "${1A}", err: "invalid variable name"},
		{in: "${A-B}", err: "invalid variable name"},
		{in: "${A:-${B}}", err: "a default cannot hold another ${...}"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, env)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expand(%q) error = %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestExpandNilEnv: with no environment, a variable without default is
// unset and one with a default takes it.
func TestExpandNilEnv(t *testing.T) {
	if got, err := expand("${X:-d}", nil); err != nil || got != "d" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := expand("${X}", nil); err == nil {
		t.Error("want an error for an unset variable")
	}
}

// TestExpansionCannotInjectYAML: a variable's value is data, never YAML:
// newlines, colons, braces and dashes stay inside the one string.
func TestExpansionCannotInjectYAML(t *testing.T) {
	evil := "x\nsinks: []\nlog: {level: debug}\n- a: b"
	src := "source:\n  dsn: ${EVIL}\n  slot: \"${EVIL}\"\nsinks:\n  - type: stdout\n"
	cfg, err := Parse([]byte(src), "t.yaml", MapEnv(map[string]string{"EVIL": evil}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source.DSN != evil || cfg.Source.Slot != evil {
		t.Errorf("dsn = %q, slot = %q; want the value verbatim", cfg.Source.DSN, cfg.Source.Slot)
	}
	if len(cfg.Sinks) != 1 || cfg.Log.Level != "" {
		t.Errorf("the value changed the structure: %+v", cfg)
	}
}

// TestKeysAreNotExpanded: ${...} in a key is a key like any other, and so
// an unknown field.
func TestKeysAreNotExpanded(t *testing.T) {
	src := "source:\n  ${KEY}: postgres://x\n"
	_, err := Parse([]byte(src), "t.yaml", MapEnv(map[string]string{"KEY": "dsn"}))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:2:3: source: unknown field "${KEY}"`) {
		t.Fatalf("got %v, want an unknown field error for the literal key", err)
	}
}

// TestExpansionIntoTypedFields: expanded text is parsed as the field's
// type, quoted or not.
func TestExpansionIntoTypedFields(t *testing.T) {
	src := `
source:
  create: ${CREATE}
  status_interval: "${EVERY}"
pipeline:
  batch_events: ${BATCH}
  max_inflight_bytes: ${BYTES:-1024}
`
	env := MapEnv(map[string]string{"CREATE": "true", "EVERY": "250ms", "BATCH": "77"})
	cfg, err := Parse([]byte(src), "t.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Source.Create || cfg.Source.StatusInterval.String() != "250ms" ||
		cfg.Pipeline.BatchEvents != 77 || cfg.Pipeline.MaxInflightBytes != 1024 {
		t.Errorf("got %+v %+v", cfg.Source, cfg.Pipeline)
	}
	_, err = Parse([]byte(src), "t.yaml", MapEnv(map[string]string{"CREATE": "maybe", "EVERY": "1", "BATCH": "7.5"}))
	want := []string{
		`t.yaml:3:11: source.create: want true or false, got "maybe"`,
		`t.yaml:4:20: source.status_interval: invalid duration "1"`,
		`t.yaml:6:17: pipeline.batch_events: want a whole number, got "7.5"`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nwant it to contain %q", err, w)
		}
	}
}
