package triggers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

// typeMatrix is the foundation's type matrix (source/decode_test.go) and
// the shapes where row_to_json's output differs most from the text output:
// XSD date-times, BC and five-digit years, offsets with minutes, -0,
// exponents, composites, box arrays with their ';' delimiter, nested
// quoting.
var typeMatrix = []struct{ typ, lit string }{
	{"int2", "-32768"},
	{"int4", "2147483647"},
	{"int8", "9223372036854775807"},
	{"numeric", "12345678901234567890.123456789"},
	{"numeric", "1.50"},
	{"numeric", "'NaN'"},
	{"numeric", "'Infinity'"},
	{"float4", "1.5"},
	{"float8", "0.1"},
	{"float8", "1e300"},
	{"float8", "'-0'"},
	{"float8", "'NaN'"},
	{"float8", "'Infinity'"},
	{"float8", "'-Infinity'"},
	{"bool", "true"},
	{"bool", "false"},
	{"text", `E'quote " backslash \\ newline \n tab \t unicode é ✓ \u2028'`},
	{"varchar(10)", "'abc'"},
	{"char(4)", "'ab'"},
	{"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"},
	{"json", `'{"b": [1, 2.5, null],   "a": "x", "a": 1e2}'`},
	{"jsonb", `'{"b": [1, 2.5, null], "a": "x"}'`},
	{"int4[]", "'{1,2,NULL}'"},
	{"int4[][]", "'{{1,2},{3,4}}'"},
	{"int4[]", "'[0:1]={7,8}'"},
	{"int8[]", "'{1,9223372036854775807}'"},
	{"text[]", `'{"a b","c\"d",NULL,"NULL","", "x\\y", "{}", "a,b"}'`},
	{"bool[]", "'{t,f}'"},
	{"jsonb[]", `ARRAY['{"a":1}'::jsonb, '[2]'::jsonb]`},
	{"timestamptz[]", `ARRAY['2026-01-02 03:04:05+00'::timestamptz, '2026-01-02 03:04:05.5+05:30']`},
	{"numeric[]", "'{1.5,NaN}'"},
	{"date", "'2026-11-23'"},
	{"date", "'infinity'"},
	{"date", "'0044-03-15 BC'"},
	{"time", "'10:00:00.5'"},
	{"timetz", "'10:00:00+02'"},
	{"timetz", "'10:00:00-05:30'"},
	{"timestamp", "'2026-11-23 10:00:00.123456'"},
	{"timestamp", "'0044-03-15 10:00 BC'"},
	{"timestamp", "'10000-01-01 10:00'"},
	{"timestamptz", "'2026-11-23 10:00:00.123456+02'"},
	{"timestamptz", "'2026-11-23 10:00:00+05:30'"},
	{"timestamptz", "'-infinity'"},
	{"timestamptz", "'0044-03-15 10:00+00 BC'"},
	{"interval", "'1 year 2 months 3 days 04:05:06.5'"},
	{"interval", "'-1 day'"},
	{"bytea", `'\x00ff10'`},
	{"bytea", `''`},
	{"mood", "'happy'"},
	{"mood[]", "'{happy,sad}'"},
	{"posint", "42"},
	{"email", "'a@b.c'"},
	{"inet", "'192.168.0.1/24'"},
	{"cidr", "'10.0.0.0/8'"},
	{"money", "12.5"},
	{"point", "'(1,2)'"},
	{"box[]", "'{(1,1),(0,0);(3,3),(2,2)}'"},
	{"int4range", "'[1,5)'"},
	{"tstzrange", "'[2026-01-01 10:00+02,)'"},
	{"oid", "42"},
	{"bit(4)", "B'1010'"},
	{"pair", `ROW(1, 'x "y"', '2026-01-01 00:00+02', ARRAY[true, NULL], NULL)::pair`},
	{"pair[]", `ARRAY[ROW(2, '', NULL, '{}', 1.5)::pair]`},
	{"xml", "'<a>1</a>'"},
}

// TestTypesMatchReplication captures one table with both sources and
// compares every event body: the trigger source must produce the
// replication source's JSON, value for value, even when the writing
// session has every output setting changed.
func TestTypesMatchReplication(t *testing.T) {
	var cols, vals, nulls []string
	for i, c := range typeMatrix {
		cols = append(cols, fmt.Sprintf("c%d %s", i, c.typ))
		vals = append(vals, c.lit)
		nulls = append(nulls, "NULL")
	}
	cl := startCluster(t, `CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN email AS text;
CREATE TYPE pair AS (n int, s text, at timestamptz, flags bool[], x numeric);
CREATE TABLE types (id int PRIMARY KEY, `+strings.Join(cols, ", ")+`);
ALTER TABLE types REPLICA IDENTITY FULL;`)

	ctx := context.Background()
	conn, err := source.NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	repl := source.New(conn, source.Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"public.types"}, Create: true, BatchEvents: 100}, nil)
	if err := repl.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	replCol := newCollector()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- repl.Run(runCtx, replCol, replCol) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replication source: %v", err)
		}
	}()
	trigCol := newCollector()
	relay(t, cl, Config{}, trigCol)

	writer := `SET TimeZone = 'Asia/Kolkata'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = -15; SET bytea_output = 'escape';
`
	mustPsql(t, cl, writer+`INSERT INTO types VALUES (1, `+strings.Join(vals, ", ")+`);
INSERT INTO types VALUES (2, `+strings.Join(nulls, ", ")+`);
BEGIN; UPDATE types SET id = 3 WHERE id = 1; DELETE FROM types WHERE id = 2; COMMIT;
TRUNCATE types;`)
	want := replCol.wait(t, 5)
	got := trigCol.wait(t, 5)
	for i := range want {
		w, g := body(want[i]), body(got[i])
		if w != g {
			t.Errorf("event %d differs\nreplication: %s\ntriggers:    %s", i, w, g)
			for j := range want[i].After {
				if j < len(got[i].After) && string(want[i].After[j].Value) != string(got[i].After[j].Value) {
					t.Errorf("  %s (%s): replication %s, triggers %s", want[i].After[j].Name, typeMatrix[j-1].typ, want[i].After[j].Value, got[i].After[j].Value)
				}
			}
		}
		if want[i].XID != got[i].XID {
			t.Errorf("event %d: xid %d, replication says %d", i, got[i].XID, want[i].XID)
		}
	}
	// The catalog agrees on kinds and type names.
	ri, _ := repl.Catalog().Table("public", "types")
	ti, ok := triggerCatalog(t, cl).Table("public", "types")
	if !ok || len(ti.Columns) != len(ri.Columns) {
		t.Fatalf("catalog: %+v", ti)
	}
	for i := range ri.Columns {
		if ri.Columns[i].Kind != ti.Columns[i].Kind || ri.Columns[i].Key != ti.Columns[i].Key {
			t.Errorf("column %s: kind/key %v/%v, replication %v/%v", ri.Columns[i].Name, ti.Columns[i].Kind, ti.Columns[i].Key, ri.Columns[i].Kind, ri.Columns[i].Key)
		}
	}
}

// body is an event without what differs by source: id, commit_lsn,
// commit_time.
func body(e *pipeline.Event) string {
	c := e.Clone()
	c.CommitLSN, c.Seq, c.CommitTime, c.XID = 0, 0, time.Time{}, 0
	return string(c.Encoded())
}

func triggerCatalog(t *testing.T, cl interface {
	DSN(string, ...string) string
}) pipeline.Catalog {
	t.Helper()
	conn, _ := source.NewConnector(cl.DSN(""))
	s := New(conn, Config{}, nil)
	if err := s.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close(context.Background()) })
	return s.Catalog()
}
