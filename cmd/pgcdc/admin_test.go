package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

func TestAdminCommands(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", `CREATE TABLE orders (id int PRIMARY KEY, s text);
CREATE TABLE logs (line text);
CREATE SCHEMA other; CREATE TABLE other.x (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("source: {dsn: %q, tables: [\"public.*\"]}\nsinks: [{name: a, type: stdout}]\n", cl.DSN("")))
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, out := runOnce(t, args...)
		if code != wantCode {
			t.Fatalf("pgcdc %v: exit %d, want %d:\n%s", args, code, wantCode, out)
		}
		return out
	}
	// check before anything exists: slot and publication missing, with
	// fixes that name the config file.
	out := run(1, "check", "-c", cfg)
	for _, want := range []string{"OK    wal_level", "ERROR slot", "pgcdc slot create -c " + cfg, "ERROR publication", "pgcdc publication create -c " + cfg,
		"WARN  max_slot_wal_keep_size"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	// With create: true, what run would create is not an error.
	createCfg := writeConfig(t, fmt.Sprintf("source: {dsn: %q, tables: [\"public.*\"], create: true}\nsinks: [{name: a, type: stdout}]\n", cl.DSN("")))
	out = run(0, "check", "-c", createCfg)
	for _, want := range []string{"OK    slot", "pgcdc run creates it", "OK    publication"} {
		if !strings.Contains(out, want) {
			t.Errorf("check with create: true lacks %q:\n%s", want, out)
		}
	}
	// --print-sql prints and does nothing.
	if out := run(0, "publication", "create", "--print-sql", "-c", cfg); !strings.Contains(out, `CREATE PUBLICATION "pgcdc" FOR TABLES IN SCHEMA "public";`) {
		t.Errorf("publication create --print-sql: %s", out)
	}
	if out := run(0, "slot", "create", "--print-sql", "-c", cfg); strings.TrimSpace(out) != `SELECT pg_create_logical_replication_slot('pgcdc', 'pgoutput');` {
		t.Errorf("slot create --print-sql: %s", out)
	}
	if out := run(1, "check", "-c", cfg); !strings.Contains(out, "ERROR slot") || !strings.Contains(out, "ERROR publication") {
		t.Errorf("--print-sql created something:\n%s", out)
	}
	if out := run(0, "publication", "create", "-c", cfg); !strings.Contains(out, `FOR TABLES IN SCHEMA "public"`) {
		t.Errorf("publication create: %s", out)
	}
	if out := run(0, "publication", "create", "-c", cfg); !strings.Contains(out, "already exists") {
		t.Errorf("second publication create: %s", out)
	}
	run(0, "slot", "create", "-c", cfg)
	// The name can come from a flag, and the file from PGCDC_CONFIG.
	cmd := exec.Command(binary, "slot", "create", "--slot", "second")
	cmd.Env = append(os.Environ(), "PGCDC_CONFIG="+cfg)
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), `created slot "second"`) {
		t.Fatalf("slot create --slot via PGCDC_CONFIG: %v %s", err, b)
	}
	out = run(0, "slot", "list", "-c", cfg)
	for _, want := range []string{"NAME", "PLUGIN", "CONFIRMED_LSN", "RETAINED_WAL", "pgcdc", "second", "pgoutput", "false"} {
		if !strings.Contains(out, want) {
			t.Errorf("slot list lacks %q:\n%s", want, out)
		}
	}
	out = run(0, "publication", "list", "-c", cfg)
	if !strings.Contains(out, "public.logs, public.orders") || strings.Contains(out, "other.x") {
		t.Errorf("publication list:\n%s", out)
	}
	// Now check passes, warning about the table without a replica identity.
	out = run(0, "check", "-c", cfg)
	if !strings.Contains(out, "WARN  replica identity public.logs") || !strings.Contains(out, "ALTER TABLE public.logs REPLICA IDENTITY FULL") {
		t.Errorf("check does not warn about public.logs:\n%s", out)
	}
	if !strings.Contains(out, "key only") {
		t.Errorf("check does not explain key-only old values for orders:\n%s", out)
	}
	run(0, "slot", "drop", "-c", cfg, "--slot", "second")
	run(0, "slot", "drop", "-c", cfg)
	if out := run(0, "slot", "drop", "-c", cfg); !strings.Contains(out, "does not exist") {
		t.Errorf("dropping a missing slot: %s", out)
	}
	run(0, "publication", "drop", "-c", cfg)
	if out := run(0, "slot", "list", "-c", cfg); strings.Contains(out, "pgoutput") {
		t.Errorf("slots left after drop:\n%s", out)
	}
}
