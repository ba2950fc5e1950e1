package source

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// typeCases: column type, SQL literal, expected JSON of the value.
var typeCases = []struct{ typ, lit, want string }{
	{"int2", "-32768", `-32768`},
	{"int4", "2147483647", `2147483647`},
	{"int8", "9223372036854775807", `"9223372036854775807"`},
	{"numeric", "12345678901234567890.123456789", `"12345678901234567890.123456789"`},
	{"numeric", "'NaN'", `"NaN"`},
	{"float4", "1.5", `1.5`},
	{"float8", "0.1", `0.1`},
	{"float8", "1e300", `1e+300`},
	{"float8", "'NaN'", `"NaN"`},
	{"float8", "'Infinity'", `"Infinity"`},
	{"float8", "'-Infinity'", `"-Infinity"`},
	{"bool", "true", `true`},
	{"bool", "false", `false`},
	{"text", `E'quote " backslash \\ newline \n tab \t unicode é ✓'`, `"quote \" backslash \\ newline \n tab \t unicode é ✓"`},
	{"varchar(10)", "'abc'", `"abc"`},
	{"char(4)", "'ab'", `"ab  "`},
	{"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
	{"json", `'{"b": [1, 2.5, null], "a": "x"}'`, `{"b": [1, 2.5, null], "a": "x"}`},
	{"jsonb", `'{"b": [1, 2.5, null], "a": "x"}'`, `{"a": "x", "b": [1, 2.5, null]}`},
	{"int4[]", "'{1,2,NULL}'", `[1,2,null]`},
	{"int4[][]", "'{{1,2},{3,4}}'", `[[1,2],[3,4]]`},
	{"int8[]", "'{1,9223372036854775807}'", `["1","9223372036854775807"]`},
	{"text[]", `'{"a b","c\"d",NULL,"NULL",""}'`, `["a b","c\"d",null,"NULL",""]`},
	{"bool[]", "'{t,f}'", `[true,false]`},
	{"jsonb[]", `ARRAY['{"a":1}'::jsonb, '[2]'::jsonb]`, `[{"a": 1},[2]]`},
	{"timestamptz[]", `ARRAY['2026-01-02 03:04:05+00'::timestamptz]`, `["2026-01-02T03:04:05Z"]`},
	{"numeric[]", "'{1.5,NaN}'", `["1.5","NaN"]`},
	{"date", "'2026-11-23'", `"2026-11-23"`},
	{"date", "'infinity'", `"infinity"`},
	{"time", "'10:00:00.5'", `"10:00:00.5"`},
	{"timetz", "'10:00:00+02'", `"10:00:00+02"`},
	{"timestamp", "'2026-11-23 10:00:00.123456'", `"2026-11-23T10:00:00.123456"`},
	{"timestamptz", "'2026-11-23 10:00:00.123456+02'", `"2026-11-23T08:00:00.123456Z"`},
	{"timestamptz", "'-infinity'", `"-infinity"`},
	{"interval", "'1 year 2 months 3 days 04:05:06.5'", `"P1Y2M3DT4H5M6.5S"`},
	{"bytea", `'\x00ff10'`, `"AP8Q"`},
	{"mood", "'happy'", `"happy"`},
	{"mood[]", "'{happy,sad}'", `["happy","sad"]`},
	{"posint", "42", `42`},
	{"email", "'a@b.c'", `"a@b.c"`},
	{"inet", "'192.168.0.1/24'", `"192.168.0.1/24"`},
	{"cidr", "'10.0.0.0/8'", `"10.0.0.0/8"`},
	{"money", "12.5", `"$12.50"`},
	{"point", "'(1,2)'", `"(1,2)"`},
	{"box[]", "'{(1,1),(0,0);(2,2),(1,1)}'", `["(1,1),(0,0)","(2,2),(1,1)"]`}, // box's delimiter is ';'
	{"point[]", "'{\"(1,2)\",\"(3,4)\"}'", `["(1,2)","(3,4)"]`},
}

func TestDecodeTypes(t *testing.T) {
	var cols, vals, nulls []string
	for i, c := range typeCases {
		cols = append(cols, fmt.Sprintf("c%d %s", i, c.typ))
		vals = append(vals, c.lit)
		nulls = append(nulls, "NULL")
	}
	schema := `CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN email AS text;
CREATE TABLE types (id int PRIMARY KEY, ` + strings.Join(cols, ", ") + `)`
	cl, col, src := startSource(t, schema)
	mustPsql(t, cl, `SET lc_monetary = 'C'; INSERT INTO types VALUES (1, `+strings.Join(vals, ", ")+`);
INSERT INTO types VALUES (2, `+strings.Join(nulls, ", ")+`)`)
	evs := col.wait(t, 2)

	if !json.Valid(evs[0].Encoded()) {
		t.Fatalf("event is not valid JSON: %s", evs[0].Encoded())
	}
	for i, c := range typeCases {
		name := fmt.Sprintf("c%d", i)
		got, ok := evs[0].After.Get(name)
		if !ok {
			t.Errorf("%s %s: column missing", c.typ, c.lit)
			continue
		}
		if string(got.Value) != c.want {
			t.Errorf("%s %s: got %s, want %s", c.typ, c.lit, got.Value, c.want)
		}
		if null, _ := evs[1].After.Get(name); string(null.Value) != "null" {
			t.Errorf("%s NULL: got %s, want null", c.typ, null.Value)
		}
	}
	// Kinds drive row filters: numbers compare numerically, and so on.
	kinds := map[string]pipeline.Kind{"int8": pipeline.KindNumber, "numeric": pipeline.KindNumber, "posint": pipeline.KindNumber,
		"bool": pipeline.KindBool, "timestamptz": pipeline.KindTime, "jsonb": pipeline.KindJSON, "mood": pipeline.KindString, "bytea": pipeline.KindBytes}
	for i, c := range typeCases {
		if want, ok := kinds[c.typ]; ok {
			if got, _ := evs[0].After.Get(fmt.Sprintf("c%d", i)); got.Kind != want {
				t.Errorf("%s: kind %d, want %d", c.typ, got.Kind, want)
			}
		}
	}
	// The catalog knows the table and its column types.
	info, ok := src.Catalog().Table("public", "types")
	if !ok || len(info.Columns) != len(typeCases)+1 || !info.Columns[0].Key {
		t.Fatalf("catalog entry for public.types: %+v", info)
	}
}

func TestDecodeToastIdentityAndKeys(t *testing.T) {
	cl, col, src := startSource(t, `
CREATE TABLE docs (id int PRIMARY KEY, title text, body text);
ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE full_docs (id int PRIMARY KEY, title text, body text);
ALTER TABLE full_docs REPLICA IDENTITY FULL;
CREATE TABLE nokey (a int, b text);
ALTER TABLE nokey REPLICA IDENTITY FULL;`)
	big := `repeat('x', 10000)`
	mustPsql(t, cl, `INSERT INTO docs VALUES (1, 't1', `+big+`);
UPDATE docs SET title = 't2' WHERE id = 1;
UPDATE docs SET id = 2 WHERE id = 1;
DELETE FROM docs WHERE id = 2;
INSERT INTO full_docs VALUES (1, 'a', 'b');
UPDATE full_docs SET title = 'c' WHERE id = 1;
DELETE FROM full_docs WHERE id = 1;
INSERT INTO nokey VALUES (1, 'x');
DELETE FROM nokey;
TRUNCATE docs, full_docs;`)
	evs := col.wait(t, 11)
	js := func(i int) string { return string(evs[i].Encoded()) }
	// Unchanged TOAST: omitted from after, listed, never null.
	upd := evs[1]
	if _, ok := upd.After.Get("body"); ok || !slices.Equal(upd.UnchangedToast, []string{"body"}) {
		t.Errorf("unchanged TOAST: %s", js(1))
	}
	if !strings.Contains(js(1), `"unchanged_toast":["body"]`) || upd.Before != nil {
		t.Errorf("update with DEFAULT identity and unchanged key: want before null and unchanged_toast: %s", js(1))
	}
	// Key change with DEFAULT identity: before holds only the old key.
	if got := string(evs[2].Before.AppendJSON(nil)); got != `{"id":1}` {
		t.Errorf("key change before = %s, want {\"id\":1}", got)
	}
	if got := string(evs[2].Key.AppendJSON(nil)); got != `{"id":2}` {
		t.Errorf("key change key = %s, want {\"id\":2}", got)
	}
	if got := string(evs[3].Before.AppendJSON(nil)); got != `{"id":2}` || evs[3].After != nil {
		t.Errorf("delete with DEFAULT identity: %s", js(3))
	}
	// FULL identity: whole old rows, and the key is still the primary key.
	if got := string(evs[5].Key.AppendJSON(nil)); got != `{"id":1}` {
		t.Errorf("FULL update key = %s, want the primary key only", got)
	}
	if got := string(evs[5].Before.AppendJSON(nil)); got != `{"id":1,"title":"a","body":"b"}` {
		t.Errorf("FULL update before = %s", got)
	}
	if got := string(evs[6].Before.AppendJSON(nil)); got != `{"id":1,"title":"c","body":"b"}` {
		t.Errorf("FULL delete before = %s", got)
	}
	// The catalog says old rows of full_docs are whole (the auth scope
	// check relies on it), and not those of docs.
	if info, _ := src.Catalog().Table("public", "full_docs"); !info.FullIdentity {
		t.Errorf("catalog of a FULL table: %+v, want FullIdentity", info)
	}
	if info, _ := src.Catalog().Table("public", "docs"); info.FullIdentity {
		t.Errorf("catalog of a DEFAULT table: %+v, want not FullIdentity", info)
	}
	// A table without a primary key still streams.
	if evs[7].Op != pipeline.OpInsert || evs[8].Op != pipeline.OpDelete || string(evs[8].Before.AppendJSON(nil)) != `{"a":1,"b":"x"}` {
		t.Errorf("no-key table: %s / %s", js(7), js(8))
	}
	// TRUNCATE: one event per table, each listing both.
	for _, i := range []int{9, 10} {
		if evs[i].Op != pipeline.OpTruncate || !strings.Contains(js(i), `"tables":["public.docs","public.full_docs"]`) {
			t.Errorf("truncate event %d: %s", i, js(i))
		}
	}
	// Ids sort in commit order and are unique.
	for i := 1; i < len(evs); i++ {
		if evs[i-1].ID() >= evs[i].ID() {
			t.Errorf("ids out of order: %s then %s", evs[i-1].ID(), evs[i].ID())
		}
	}
}

// TestIdleSlotHoldsNoWAL: with nothing in flight, keepalives let the source
// confirm the server's WAL end, so writes to unpublished tables do not pile
// up WAL behind the slot.
func TestIdleSlotHoldsNoWAL(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"wal_sender_timeout": "2s"}})
	ctx := context.Background()
	mustPsql(t, cl, `CREATE TABLE published (id int PRIMARY KEY); CREATE TABLE other (id int);
CREATE PUBLICATION pgcdc FOR TABLE published`)
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	src := New(conn, Config{Slot: "pgcdc", Publication: "pgcdc", Create: true, StatusInterval: 200 * time.Millisecond}, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx, col, col) }()
	defer func() { cancel(); <-done }()
	out, err := cl.Psql(ctx, "", `INSERT INTO other SELECT generate_series(1, 10000); SELECT pg_current_wal_lsn()`)
	if err != nil {
		t.Fatal(err)
	}
	target, err := pipeline.ParseLSN(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := cl.Psql(ctx, "", `SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'pgcdc'`)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := pipeline.ParseLSN(strings.TrimSpace(out))
		if got >= target {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot confirmed %s, never reached %s: an idle slot holds WAL", got, target)
		}
		time.Sleep(100 * time.Millisecond) // polling the server's view: no signal to wait on
	}
	if n := len(col.events); n != 0 {
		t.Fatalf("got %d events from an unpublished table", n)
	}
}

// TestBuiltinDelimiters: box is the only built-in type whose array
// delimiter is not ',' (builtinDelim relies on it; array types carry
// their element's delimiter).
func TestBuiltinDelimiters(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	out, err := cl.Psql(context.Background(), "", `SELECT string_agg(oid::text, ',') FROM pg_type WHERE typdelim <> ',' AND oid < 16384 AND typcategory <> 'A'`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != fmt.Sprint(oidBox) {
		t.Fatalf("built-in types with a delimiter other than ',': %s, want only box (%d)", got, oidBox)
	}
}
