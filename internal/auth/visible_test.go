package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

// tenantRules is the scope of the cross-tenant tests: orders, one tenant's
// rows, never the secret column.
var tenantRules = Rules{
	Tables:  []string{"public.orders"},
	Filter:  []string{"tenant_id=eq.{claims.tenant_id}"},
	Columns: map[string]ColumnRule{"public.*": {Exclude: []string{"secret"}}},
}

// order is a full row of tenant t; every text value carries the tenant's
// marker, so a leak shows up in the encoding.
func order(id, t int) pipeline.Row {
	m := marker(t)
	return row("id", id, "tenant_id", t, "note", m+"-note", "secret", m+"-secret")
}

func marker(t int) string { return map[int]string{7: "seven", 8: "eight"}[t] }

func TestCrossTenant(t *testing.T) {
	p := mustCompile(t, tenantRules)
	scopes := map[int]*Scope{7: mustBind(t, p, `{"tenant_id":7}`), 8: mustBind(t, p, `{"tenant_id":"8"}`)}
	key := row("id", 1)
	tests := []struct {
		name string
		e    *pipeline.Event
		want map[int]pipeline.Op // tenant -> op delivered; absent: nothing
		sees map[int]int         // tenant -> the tenant whose values it may see
	}{
		{"insert 7", event(pipeline.OpInsert, "orders", key, nil, order(1, 7)), map[int]pipeline.Op{7: pipeline.OpInsert}, map[int]int{7: 7}},
		{"insert 8", event(pipeline.OpInsert, "orders", key, nil, order(1, 8)), map[int]pipeline.Op{8: pipeline.OpInsert}, map[int]int{8: 8}},
		{"read 7", event(pipeline.OpRead, "orders", key, nil, order(1, 7)), map[int]pipeline.Op{7: pipeline.OpRead}, map[int]int{7: 7}},
		{"update 7->7", event(pipeline.OpUpdate, "orders", key, order(1, 7), order(1, 7)), map[int]pipeline.Op{7: pipeline.OpUpdate}, map[int]int{7: 7}},
		{"update 8->8 without old row", event(pipeline.OpUpdate, "orders", row("id", 1, "tenant_id", 8), nil, order(1, 8)), map[int]pipeline.Op{8: pipeline.OpUpdate}, map[int]int{8: 8}},
		{"update 7->8", event(pipeline.OpUpdate, "orders", key, order(1, 7), order(1, 8)), map[int]pipeline.Op{7: pipeline.OpDelete, 8: pipeline.OpInsert}, map[int]int{7: 7, 8: 8}},
		{"update 8->7", event(pipeline.OpUpdate, "orders", key, order(1, 8), order(1, 7)), map[int]pipeline.Op{8: pipeline.OpDelete, 7: pipeline.OpInsert}, map[int]int{7: 7, 8: 8}},
		{"update 7->8, tenant in the key", event(pipeline.OpUpdate, "orders", row("tenant_id", 8, "id", 1), order(1, 7), order(1, 8)), map[int]pipeline.Op{7: pipeline.OpDelete, 8: pipeline.OpInsert}, map[int]int{7: 7, 8: 8}},
		{"delete 7", event(pipeline.OpDelete, "orders", key, order(1, 7), nil), map[int]pipeline.Op{7: pipeline.OpDelete}, map[int]int{7: 7}},
		{"delete 8 by key", event(pipeline.OpDelete, "orders", row("tenant_id", 8, "id", 1), nil, nil), map[int]pipeline.Op{8: pipeline.OpDelete}, nil},
		{"delete without the column", event(pipeline.OpDelete, "orders", key, nil, nil), nil, nil},
		{"other table", event(pipeline.OpInsert, "users", key, nil, order(1, 7)), nil, nil},
	}
	for _, tt := range tests {
		for tenant, s := range scopes {
			got := s.Apply(tt.e)
			want, ok := tt.want[tenant]
			switch {
			case !ok && got != nil:
				t.Errorf("%s: tenant %d got %s", tt.name, tenant, got.Encoded())
				continue
			case !ok:
				continue
			case got == nil:
				t.Errorf("%s: tenant %d got nothing, want %s", tt.name, tenant, want)
				continue
			case got.Op != want:
				t.Errorf("%s: tenant %d got %s, want %s: %s", tt.name, tenant, got.Op, want, got.Encoded())
			}
			js := string(got.Encoded())
			if strings.Contains(js, "secret") {
				t.Errorf("%s: tenant %d sees a denied column: %s", tt.name, tenant, js)
			}
			if other := 15 - tenant; strings.Contains(js, marker(other)) || strings.Contains(js, `"tenant_id":`+string(rune('0'+other))) {
				t.Errorf("%s: tenant %d sees tenant %d's values: %s", tt.name, tenant, other, js)
			}
			if got.ID() != tt.e.ID() {
				t.Errorf("%s: id %s, want the change's id %s", tt.name, got.ID(), tt.e.ID())
			}
			m := decodeJSON(t, got.Encoded())
			switch got.Op {
			case pipeline.OpInsert:
				if m["before"] != nil {
					t.Errorf("%s: synthesized insert has a before: %s", tt.name, js)
				}
			case pipeline.OpDelete:
				if m["after"] != nil {
					t.Errorf("%s: delete has an after: %s", tt.name, js)
				}
				if k, _ := m["key"].(map[string]any); k != nil && k["tenant_id"] != nil && k["tenant_id"].(float64) != float64(tenant) {
					t.Errorf("%s: tenant %d's delete carries another key: %s", tt.name, tenant, js)
				}
			}
		}
	}
	if tests[0].e.Encoded() == nil || strings.Contains(string(tests[0].e.Encoded()), "secret") == false {
		t.Fatal("the input event was modified")
	}
}

func TestUpdateWithoutOldRowFailsClosed(t *testing.T) {
	p := mustCompile(t, tenantRules)
	s7, s8 := mustBind(t, p, `{"tenant_id":7}`), mustBind(t, p, `{"tenant_id":8}`)
	// REPLICA IDENTITY DEFAULT, tenant_id not in the key: the old tenant is
	// unknown. The new tenant gets an insert with nothing of the old row,
	// the other nothing.
	e := event(pipeline.OpUpdate, "orders", row("id", 1), nil, order(1, 7))
	if got := s7.Apply(e); got == nil || got.Op != pipeline.OpInsert || got.Before != nil {
		t.Errorf("tenant 7 got %v, want an insert without before", got)
	}
	if got := s8.Apply(e); got != nil {
		t.Errorf("tenant 8 got %s", got.Encoded())
	}
	// A key-only old row (the key changed) that lacks tenant_id.
	e = event(pipeline.OpUpdate, "orders", row("id", 2), row("id", 1), order(2, 8))
	if got := s8.Apply(e); got == nil || got.Op != pipeline.OpInsert || strings.Contains(string(got.Encoded()), `"before":{`) {
		t.Errorf("tenant 8 got %v, want an insert without the old key", got)
	}
	if got := s7.Apply(e); got != nil {
		t.Errorf("tenant 7 got %s", got.Encoded())
	}
}

func TestUnchangedToastFilterColumn(t *testing.T) {
	// The filtered column was not sent because its TOASTed value did not
	// change: the old row's value decides, the update stays an update.
	p := mustCompile(t, Rules{Filter: []string{"tenant=eq.{claims.t}"}})
	s := mustBind(t, p, `{"t":"big"}`)
	e := event(pipeline.OpUpdate, "docs", row("id", 1), row("id", 1, "tenant", "big", "n", "a"), row("id", 1, "n", "b"))
	e.UnchangedToast = []string{"tenant"}
	if got := s.Apply(e); got == nil || got.Op != pipeline.OpUpdate {
		t.Fatalf("got %v, want the update", got)
	}
}

func TestColumnsEverywhere(t *testing.T) {
	p := mustCompile(t, Rules{Columns: map[string]ColumnRule{
		"public.users": {Exclude: []string{"password_hash", "email"}},
		"public.*":     {Exclude: []string{"ssn"}},
	}})
	s := mustBind(t, p, "")
	full := row("email", "a@example.com", "name", "A", "password_hash", "x", "ssn", "123")
	e := event(pipeline.OpUpdate, "users", row("email", "a@example.com"), full, row("email", "a@example.com", "name", "B", "ssn", "123"))
	e.UnchangedToast = []string{"password_hash", "bio"}
	got := s.Apply(e)
	js := string(got.Encoded())
	for _, denied := range []string{"password_hash", "email", "ssn", "123", "a@example.com"} {
		if strings.Contains(js, denied) {
			t.Errorf("%q appears in %s", denied, js)
		}
	}
	if got.Key == nil || len(got.Key) != 0 || len(got.UnchangedToast) != 1 || got.UnchangedToast[0] != "bio" {
		t.Errorf("key %v, unchanged_toast %v: want {} and [bio]", got.Key, got.UnchangedToast)
	}
	// Nothing to drop: the event itself.
	other := event(pipeline.OpInsert, "orders", row("id", 1), nil, row("id", 1, "total", 5))
	if s.Apply(other) != other {
		t.Error("a projection that drops nothing copied the event")
	}
	// Include lists keep only what they name.
	p = mustCompile(t, Rules{Columns: map[string]ColumnRule{"orders": {Include: []string{"id"}}}})
	if got := mustBind(t, p, "").Apply(other); len(got.After) != 1 || got.After[0].Name != "id" {
		t.Errorf("include [id] gave %s", got.Encoded())
	}
}

func TestTruncate(t *testing.T) {
	p := mustCompile(t, tenantRules)
	s := mustBind(t, p, `{"tenant_id":7}`)
	e := &pipeline.Event{Op: pipeline.OpTruncate, Schema: "public", Table: "orders", Tables: []string{"public.orders", "public.users", "secret.orders"}}
	got := s.Apply(e)
	if got == nil || len(got.Tables) != 1 || got.Tables[0] != "public.orders" {
		t.Fatalf("got %v, want the truncate of public.orders alone", got)
	}
	e.Table = "users"
	if got := s.Apply(e); got != nil {
		t.Errorf("truncate of users delivered: %v", got.Tables)
	}
}

func TestBindClaims(t *testing.T) {
	p := mustCompile(t, Rules{Filter: []string{"tenant_id=eq.{claims.tenant_id}"}})
	n7 := event(pipeline.OpInsert, "t", nil, nil, row("tenant_id", 7))
	n8 := event(pipeline.OpInsert, "t", nil, nil, row("tenant_id", 8))
	s78 := event(pipeline.OpInsert, "t", nil, nil, row("tenant_id", "7,8"))
	tests := []struct {
		claims  string
		matches []*pipeline.Event
		err     bool
	}{
		{`{"tenant_id":7}`, []*pipeline.Event{n7}, false},
		{`{"tenant_id":"7"}`, []*pipeline.Event{n7}, false},
		{`{"tenant_id":7.0}`, []*pipeline.Event{n7}, false},
		{`{"tenant_id":"7,8"}`, []*pipeline.Event{s78}, false}, // one value, never a list
		{`{"tenant_id":"x) or (1"}`, nil, false},
		{`{"tenant_id":"7&tenant_id=eq.8"}`, nil, false},
		{`{"tenant_id":[7,8]}`, nil, true}, // a list for eq
		{`{"tenant_id":null}`, nil, true},
		{`{"tenant_id":""}`, nil, true},
		{`{"tenant_id":{"a":1}}`, nil, true},
		{`{"other":7}`, nil, true},
		{``, nil, true},
	}
	for _, tt := range tests {
		s, err := p.Bind(parseClaims(t, tt.claims))
		if tt.err {
			if err == nil || ReasonOf(err) != ReasonClaims {
				t.Errorf("claims %s: err %v, want a claims error", tt.claims, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("claims %s: %v", tt.claims, err)
			continue
		}
		for _, e := range []*pipeline.Event{n7, n8, s78} {
			want := false
			for _, m := range tt.matches {
				want = want || m == e
			}
			if got := s.Apply(e) != nil; got != want {
				t.Errorf("claims %s, row %s: visible %v, want %v", tt.claims, e.After.AppendJSON(nil), got, want)
			}
		}
	}
	// An in list takes every item of a list claim, each as one value.
	p = mustCompile(t, Rules{Filter: []string{"tenant_id=in.({claims.tenants})"}})
	s := mustBind(t, p, `{"tenants":[7,"8,9"]}`)
	if s.Apply(n7) == nil || s.Apply(n8) != nil {
		t.Errorf("in list of [7, \"8,9\"]: %v", s.Describe(nil).Filters)
	}
	if got := s.Describe(nil).Filters; len(got) != 1 || got[0] != `tenant_id=in.(7,"8,9")` {
		t.Errorf("described filters %q", got)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, f := range []string{
		"tenant_id=eq.x{claims.tenant_id}",
		"tenant_id=eq.{claims.tenant_id}x",
		"tenant_id=eq.{claims.}",
		"name=like.{claims.prefix}",
		`"{claims.col}"=eq.1`,
		"tenant_id=gtx.1",
	} {
		if _, err := Compile(Rules{Filter: []string{f}}); err == nil {
			t.Errorf("Compile(filter %q) succeeded", f)
		}
	}
	_, err := Compile(Rules{Tables: []string{"a.b.c"}, Columns: map[string]ColumnRule{"public.users": {}}})
	var fields interface{ Unwrap() []error }
	if !errors.As(err, &fields) || len(fields.Unwrap()) != 2 {
		t.Errorf("want two problems, got %v", err)
	}
	for _, want := range []string{"tables[0]", `columns["public.users"]`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestTablesClaim(t *testing.T) {
	p := mustCompile(t, Rules{Tables: []string{"public.orders", "public.items"}, TablesClaim: "pgcdc_tables"})
	s := mustBind(t, p, `{"pgcdc_tables":["public.orders","public.secrets","*"]}`)
	if !s.AllowTable("public", "orders") || !s.AllowTable("public", "items") || s.AllowTable("public", "secrets") {
		t.Error("a claim of * widened or failed to keep the config's tables")
	}
	s = mustBind(t, p, `{"pgcdc_tables":"public.orders"}`)
	if !s.AllowTable("public", "orders") || s.AllowTable("public", "items") {
		t.Error("a claim of public.orders did not narrow")
	}
	for _, c := range []string{`{}`, `{"pgcdc_tables":[]}`, `{"pgcdc_tables":[1]}`, `{"pgcdc_tables":["a.b.c"]}`} {
		if _, err := p.Bind(parseClaims(t, c)); ReasonOf(err) != ReasonClaims {
			t.Errorf("claims %s: err %v, want a claims error", c, err)
		}
	}
	err := s.CheckTables([]string{"public.items"}, nil)
	if ReasonOf(err) != ReasonForbidden || !strings.Contains(err.Error(), `"public.items"`) {
		t.Errorf("CheckTables(public.items) = %v, want forbidden naming the table", err)
	}
	cat := pipeline.StaticCatalog{{Schema: "public", Table: "orders"}, {Schema: "public", Table: "items"}, {Schema: "audit", Table: "log"}}
	if err := s.CheckTables([]string{"public.*", "orders"}, cat); err != nil {
		t.Errorf("CheckTables(public.*) = %v", err)
	}
	if err := s.CheckTables([]string{"audit.*"}, cat); ReasonOf(err) != ReasonForbidden {
		t.Errorf("CheckTables(audit.*) = %v, want forbidden", err)
	}
}

func TestCheckCatalog(t *testing.T) {
	p := mustCompile(t, tenantRules)
	cols := func(keys ...string) []pipeline.ColumnInfo {
		out := []pipeline.ColumnInfo{{Name: "id", Kind: pipeline.KindNumber}, {Name: "tenant_id", Kind: pipeline.KindNumber}}
		for i := range out {
			for _, k := range keys {
				if out[i].Name == k {
					out[i].Key = true
				}
			}
		}
		return out
	}
	ok := pipeline.StaticCatalog{
		{Schema: "public", Table: "orders", Columns: cols("id", "tenant_id")},
		{Schema: "public", Table: "users", Columns: cols("id")}, // outside the scope
	}
	if err := p.CheckCatalog(ok); err != nil {
		t.Errorf("CheckCatalog: %v", err)
	}
	err := p.CheckCatalog(pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: cols("id")}})
	if err == nil || !strings.Contains(err.Error(), `ALTER TABLE "public"."orders" REPLICA IDENTITY FULL`) {
		t.Errorf("CheckCatalog without the key: %v", err)
	}
	// REPLICA IDENTITY FULL: old rows carry tenant_id though the key is id.
	if err := p.CheckCatalog(pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: cols("id"), FullIdentity: true}}); err != nil {
		t.Errorf("CheckCatalog of a FULL table keyed by id: %v", err)
	}
	err = p.CheckCatalog(pipeline.StaticCatalog{{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{{Name: "id", Key: true}}}})
	if err == nil || !strings.Contains(err.Error(), `no column "tenant_id"`) {
		t.Errorf("CheckCatalog without the column: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	p := mustCompile(t, tenantRules)
	d := mustBind(t, p, `{"tenant_id":7}`).Describe(pipeline.StaticCatalog{{Schema: "public", Table: "orders"}, {Schema: "public", Table: "users"}})
	if len(d.Filters) != 1 || d.Filters[0] != "tenant_id=eq.7" || len(d.Tables) != 1 || d.Tables[0] != "public.orders" ||
		len(d.Columns) != 1 || d.Columns[0].Exclude[0] != "secret" {
		t.Errorf("Describe = %+v", d)
	}
}
