package config

import (
	"strings"
	"testing"
)

func TestNATSKeys(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		// valid: a slot reader with HA and an embedded server
		{`source: {dsn: "postgres://x@h/db"}
ha: {nats: {}, lease: 5s}
nats: {embedded: {data_dir: /tmp/x}}
sinks: [{type: nats, stream: {name: orders, create: true, replicas: 3, max_age: 24h}}]`, ""},
		// valid: an edge needs no dsn
		{`source: {type: nats, nats: {url: "nats://a:4222,nats://b:4222", stream: orders}}
sinks: [{type: sse}, {type: webhook, url: "http://h/x"}]`, ""},
		{`source: {type: nats}
sinks: [{type: sse}]`, "source.nats.url: required"},
		{`source: {dsn: "postgres://x@h/db", nats: {stream: x}}
sinks: [{type: stdout}]`, "source.nats: only used with source.type nats"},
		{`source: {dsn: "postgres://x@h/db"}
sinks: [{type: nats, url: "http://h", subject: "a.{table}x"}]`, "sinks[0].url: want nats://"},
		{`source: {dsn: "postgres://x@h/db"}
sinks: [{type: nats, url: "nats://h", subject: "a.{table}x"}]`, "sinks[0].subject: subject \"a.{table}x\": token \"{table}x\": a placeholder must be a whole token"},
		{`source: {dsn: "postgres://x@h/db"}
sinks: [{type: nats, url: "nats://h", stream: {name: "a.b"}}]`, "sinks[0].stream.name: invalid name"},
		{`source: {dsn: "postgres://x@h/db"}
sinks: [{type: nats, url: "nats://h", token: t, user: u}]`, "set one of creds_file"},
		{`source: {dsn: "postgres://x@h/db"}
sinks: [{type: webhook, url: "http://h/x", subject: s}]`, "sinks[0].subject: not a field of a webhook sink"},
		{`source: {dsn: "postgres://x@h/db"}
ha: {lease: 10s}
sinks: [{type: stdout}]`, "ha.nats: required"},
		{`source: {dsn: "postgres://x@h/db"}
ha: {nats: {url: "nats://h"}, lease: 10m1s}
sinks: [{type: stdout}]`, "ha.lease: 10m1s is out of range"},
		{`source: {dsn: "postgres://x@h/db"}
nats: {embedded: {}}
sinks: [{type: stdout}]`, "nats.embedded.data_dir: required"},
		{`source: {type: nats, nats: {url: "nats://h"}}
ha: {nats: {url: "nats://h"}}
sinks: [{type: stdout}]`, "ha: only for pgcdc run"},
	} {
		cfg, err := Parse([]byte(tt.yaml), "p.yaml", nil)
		if err == nil {
			cfg.SetDefaults()
			err = cfg.Validate()
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s\n: %v", tt.yaml, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s\n: got %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

// TestNATSDefaults: with nats.embedded, every NATS client defaults to it.
func TestNATSDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`source: {dsn: "postgres://x@h/db"}
ha: {nats: {}}
nats: {embedded: {data_dir: d}}
sinks: [{type: nats}]`), "p.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	k := cfg.Sinks[0]
	if k.URL != "nats://127.0.0.1:4222" || cfg.HA.NATS.URL != k.URL || k.Subject != DefaultNATSSubject || k.Stream.Name != "pgcdc" ||
		cfg.HA.Lease != DefaultHALease || k.MaxInflight != DefaultNATSMaxInflight {
		t.Fatalf("defaults: %+v %+v", k.NATSSink, cfg.HA)
	}
}

func TestNATSRedacted(t *testing.T) {
	cfg, _ := Parse([]byte(`source: {type: nats, nats: {url: "nats://u:pw@h", password: pw2, user: u}}
sinks: [{type: nats, url: "nats://h", token: tok}]`), "p.yaml", nil)
	r := cfg.Redacted()
	if s := r.Source.NATS.URL + r.Source.NATS.Password + r.Sinks[0].Token; strings.Contains(s, "pw") || strings.Contains(s, "tok") {
		t.Fatalf("secrets left: %s", s)
	}
}
