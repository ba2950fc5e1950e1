package transform

import (
	"errors"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func orderRow(id, status, total string) pipeline.Row {
	return pipeline.Row{col("id", num, id), col("status", str, `"`+status+`"`), col("total", num, `"`+total+`"`)}
}

func event(op pipeline.Op, schema, table string, before, after pipeline.Row) *pipeline.Event {
	e := &pipeline.Event{Op: op, Schema: schema, Table: table, CommitLSN: 0x16B3748, Before: before, After: after}
	switch op {
	case pipeline.OpDelete:
		if before != nil {
			e.Key = before[:1]
		}
	case pipeline.OpTruncate:
		e.Tables = []string{schema + "." + table}
	default:
		if after != nil {
			e.Key = after[:1]
		}
	}
	return e
}

func mustFilter(t testing.TB, spec FilterSpec) *Filter {
	t.Helper()
	f, err := NewFilter(spec)
	if err != nil {
		t.Fatalf("NewFilter(%+v): %v", spec, err)
	}
	return f
}

func TestFilterApply(t *testing.T) {
	paid := orderRow("1", "paid", "120.50")
	draft := orderRow("2", "draft", "5")
	keyOnly := pipeline.Row{col("id", num, "1")}
	tests := []struct {
		name string
		spec FilterSpec
		e    *pipeline.Event
		keep bool
	}{
		{"empty keeps all", FilterSpec{}, event(pipeline.OpInsert, "x", "y", nil, paid), true},
		{"table literal", FilterSpec{Tables: []string{"public.orders"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"table default schema", FilterSpec{Tables: []string{"orders"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"other table", FilterSpec{Tables: []string{"public.orders"}}, event(pipeline.OpInsert, "public", "users", nil, paid), false},
		{"any of tables", FilterSpec{Tables: []string{"public.users", "public.ord*"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"excluded", FilterSpec{Tables: []string{"public.*"}, ExcludeTables: []string{"public.audit_*"}}, event(pipeline.OpInsert, "public", "audit_log", nil, paid), false},
		{"not excluded", FilterSpec{Tables: []string{"public.*"}, ExcludeTables: []string{"public.audit_*"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"exclude only", FilterSpec{ExcludeTables: []string{"*.secret"}}, event(pipeline.OpInsert, "s", "secret", nil, paid), false},
		{"op kept", FilterSpec{Ops: []string{"insert", "update"}}, event(pipeline.OpUpdate, "public", "orders", nil, paid), true},
		{"op dropped", FilterSpec{Ops: []string{"insert", "update"}}, event(pipeline.OpDelete, "public", "orders", paid, nil), false},
		{"read op", FilterSpec{Ops: []string{"read"}}, event(pipeline.OpRead, "public", "orders", nil, paid), true},
		{"where insert match", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"where insert no match", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpInsert, "public", "orders", nil, draft), false},
		{"where ANDed", FilterSpec{Where: []string{"status=eq.paid", "total=gt.200"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), false},
		{"where ANDed match", FilterSpec{Where: []string{"status=eq.paid", "total=gt.100"}}, event(pipeline.OpInsert, "public", "orders", nil, paid), true},
		{"where read", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpRead, "public", "orders", nil, paid), true},
		{"update tests after (moved in)", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpUpdate, "public", "orders", draft, paid), true},
		{"update tests after (moved out)", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpUpdate, "public", "orders", paid, draft), false},
		{"delete tests before", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpDelete, "public", "orders", paid, nil), true},
		{"delete key-only before", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpDelete, "public", "orders", keyOnly, nil), false},
		{"delete key-only before on key", FilterSpec{Where: []string{"id=eq.1"}}, event(pipeline.OpDelete, "public", "orders", keyOnly, nil), true},
		{"delete without before uses key", FilterSpec{Where: []string{"id=eq.1"}}, &pipeline.Event{Op: pipeline.OpDelete, Schema: "public", Table: "orders", Key: keyOnly}, true},
		{"truncate ignores where", FilterSpec{Where: []string{"status=eq.paid"}}, event(pipeline.OpTruncate, "public", "orders", nil, nil), true},
		{"truncate table filtered", FilterSpec{Tables: []string{"public.users"}, Where: []string{"status=eq.paid"}}, event(pipeline.OpTruncate, "public", "orders", nil, nil), false},
		{"truncate op filtered", FilterSpec{Ops: []string{"insert"}}, event(pipeline.OpTruncate, "public", "orders", nil, nil), false},
		{"insert without after", FilterSpec{Where: []string{"status=is.null"}}, event(pipeline.OpInsert, "public", "orders", nil, nil), false},
	}
	for _, tt := range tests {
		f := mustFilter(t, tt.spec)
		got := f.Apply(tt.e)
		if tt.keep && got != tt.e {
			t.Errorf("%s: dropped (or copied) an event it should keep", tt.name)
		}
		if !tt.keep && got != nil {
			t.Errorf("%s: kept an event it should drop", tt.name)
		}
	}
}

func TestFilterNil(t *testing.T) {
	var f *Filter
	e := event(pipeline.OpInsert, "public", "orders", nil, orderRow("1", "paid", "1"))
	if f.Apply(e) != e || !f.MatchTable("a", "b") || !f.MatchOp(pipeline.OpDelete) {
		t.Error("a nil Filter dropped something")
	}
	if err := f.Check(pipeline.StaticCatalog{}); err != nil {
		t.Errorf("nil Filter Check: %v", err)
	}
}

func TestFilterMatchHelpers(t *testing.T) {
	f := mustFilter(t, FilterSpec{Tables: []string{"public.*"}, ExcludeTables: []string{"public.audit"}, Ops: []string{"insert"}})
	if !f.MatchTable("public", "orders") || f.MatchTable("public", "audit") || f.MatchTable("other", "orders") {
		t.Error("MatchTable is wrong")
	}
	if !f.MatchOp(pipeline.OpInsert) || f.MatchOp(pipeline.OpUpdate) || f.MatchOp("bogus") {
		t.Error("MatchOp is wrong")
	}
}

func TestNewFilterErrors(t *testing.T) {
	_, err := NewFilter(FilterSpec{
		Tables:        []string{"public.orders", "a.b.c"},
		ExcludeTables: []string{""},
		Ops:           []string{"insert", "upsert"},
		Where:         []string{"status=eq.paid", "total=gtx.5"},
	})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("NewFilter error %v (%T) is not an Errors", err, err)
	}
	want := []string{
		`tables[1]: table pattern "a.b.c": too many dots: want schema.table; double-quote a name that contains a dot, e.g. "my.schema".orders`,
		`exclude_tables[0]: table pattern "": empty: want schema.table, e.g. public.orders or public.*`,
		`ops[1]: unknown op "upsert": want one of insert, update, delete, truncate, read, snapshot_started, snapshot_completed`,
		`where[1]: filter "total=gtx.5": unknown operator "gtx": want one of eq, neq, lt, lte, gt, gte, in, is, like (optionally prefixed by not.)`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if es[i].Error() != w {
			t.Errorf("problem %d:\n  %s\nwant\n  %s", i, es[i], w)
		}
	}
	if es[2].Field != "ops[1]" {
		t.Errorf("Field = %q, want ops[1]", es[2].Field)
	}
}

func TestFilterAllocs(t *testing.T) {
	f := mustFilter(t, FilterSpec{Tables: []string{"public.*"}, Ops: []string{"insert", "update"}, Where: []string{"status=eq.paid", "total=gt.100"}})
	keep := event(pipeline.OpInsert, "public", "orders", nil, orderRow("1", "paid", "120.50"))
	drop := event(pipeline.OpInsert, "public", "orders", nil, orderRow("1", "paid", "99.99"))
	if f.Apply(keep) == nil || f.Apply(drop) != nil {
		t.Fatal("wrong decision")
	}
	if n := testing.AllocsPerRun(100, func() { f.Apply(keep); f.Apply(drop) }); n != 0 {
		t.Errorf("%v allocations per Apply, want 0", n)
	}
}

// TestFilterConcurrent runs one Filter and one Project from many
// goroutines, for the race detector.
func TestFilterConcurrent(t *testing.T) {
	f := mustFilter(t, FilterSpec{Where: []string{"status=eq.paid", "total=gt.100"}})
	p := mustProject(t, ProjectSpec{Exclude: []string{"total"}})
	e := event(pipeline.OpInsert, "public", "orders", nil, orderRow("1", "paid", "120"))
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 200 {
				got := p.Apply(f.Apply(e))
				ok = ok && got != nil && len(got.After) == 2
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a concurrent Apply went wrong")
		}
	}
	if len(e.After) != 3 {
		t.Error("the input event changed")
	}
}
