package transform

import (
	"reflect"
	"strings"
	"testing"
)

func TestTablePattern(t *testing.T) {
	type tbl struct{ schema, table string }
	tests := []struct {
		pattern string
		canon   string
		match   []tbl
		noMatch []tbl
	}{
		{"public.orders", "public.orders", []tbl{{"public", "orders"}}, []tbl{{"public", "orders2"}, {"other", "orders"}}},
		{"orders", "public.orders", []tbl{{"public", "orders"}}, []tbl{{"other", "orders"}}},
		{"*", "*.*", []tbl{{"public", "orders"}, {"x", "y"}, {"", ""}}, nil},
		{"*.*", "*.*", []tbl{{"public", "orders"}, {"a.b", "c"}}, nil},
		{"public.*", "public.*", []tbl{{"public", "orders"}, {"public", ""}}, []tbl{{"private", "orders"}}},
		{"*.orders", "*.orders", []tbl{{"public", "orders"}, {"shop", "orders"}}, []tbl{{"public", "order"}}},
		{"public.audit_*", "public.audit_*", []tbl{{"public", "audit_log"}, {"public", "audit_"}}, []tbl{{"public", "audit"}, {"public", "xaudit_log"}}},
		{"public.*_log", "public.*_log", []tbl{{"public", "audit_log"}}, []tbl{{"public", "audit_logs"}}},
		{"public.a*b*c", "public.a*b*c", []tbl{{"public", "abc"}, {"public", "axxbyyc"}, {"public", "abcbc"}}, []tbl{{"public", "acb"}, {"public", "ab"}, {"public", "abca"}}},
		{"public.a*a", "public.a*a", []tbl{{"public", "aa"}, {"public", "aba"}}, []tbl{{"public", "a"}}},
		{"p*.o*", "p*.o*", []tbl{{"public", "orders"}}, []tbl{{"xpublic", "orders"}}},
		{"public.**", "public.**", []tbl{{"public", "x"}}, nil},
		{`"my.schema"."my table"`, `"my.schema"."my table"`, []tbl{{"my.schema", "my table"}}, []tbl{{"my", "schema.my table"}}},
		{`"weird*"`, `public."weird*"`, []tbl{{"public", "weird*"}}, []tbl{{"public", "weirdo"}}},
		{`"public".orders`, "public.orders", []tbl{{"public", "orders"}}, nil},
		{`Public.Orders`, "Public.Orders", []tbl{{"Public", "Orders"}}, []tbl{{"public", "orders"}}},
	}
	for _, tt := range tests {
		p := mustPattern(t, tt.pattern)
		if got := p.String(); got != tt.canon {
			t.Errorf("ParseTablePattern(%q).String() = %q, want %q", tt.pattern, got, tt.canon)
		}
		again := mustPattern(t, p.String())
		if !reflect.DeepEqual(again, p) {
			t.Errorf("round trip of %q: %+v != %+v", tt.pattern, again, p)
		}
		for _, m := range tt.match {
			if !p.Match(m.schema, m.table) {
				t.Errorf("%q did not match %s.%s", tt.pattern, m.schema, m.table)
			}
		}
		for _, m := range tt.noMatch {
			if p.Match(m.schema, m.table) {
				t.Errorf("%q matched %s.%s", tt.pattern, m.schema, m.table)
			}
		}
	}
}

func TestTablePatternLiteral(t *testing.T) {
	if s, tb, ok := mustPattern(t, "orders").Literal(); !ok || s != "public" || tb != "orders" {
		t.Errorf("Literal of orders = %q, %q, %v", s, tb, ok)
	}
	if _, _, ok := mustPattern(t, "public.o*").Literal(); ok {
		t.Error("public.o* is literal")
	}
}

func TestTablePatternErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `table pattern "": empty: want schema.table, e.g. public.orders or public.*`},
		{"public.", `table pattern "public.": missing table name after "."`},
		{".orders", `table pattern ".orders": empty schema name`},
		{"a.b.c", `table pattern "a.b.c": too many dots: want schema.table; double-quote a name that contains a dot, e.g. "my.schema".orders`},
		{"public.my-table", `table pattern "public.my-table": table name "my-table" may hold only letters, digits, _, $ and the wildcard *: double-quote other names, e.g. "my-table"`},
		{"public orders", `schema name "public orders" may hold only`},
		{`"public`, `schema name: unterminated quoted string`},
		{`"".orders`, `empty schema name ""`},
		{`public.""`, `empty table name ""`},
		{`"a"b.c`, `unexpected 'b' after the quoted schema name: want "."`},
		{`a."b"c`, `unexpected 'c' after the quoted table name: want the end`},
		{`public.?`, `table name "?" may hold only`},
		{`public.[ab]`, `table name "[ab]" may hold only`},
	}
	for _, tt := range tests {
		_, err := ParseTablePattern(tt.in)
		if err == nil {
			t.Errorf("ParseTablePattern(%q) succeeded, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTablePattern(%q) error:\n  %v\nwant it to contain:\n  %s", tt.in, err, tt.want)
		}
	}
}

func TestTablePatternWholeSchemaAndAll(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		schema  string
		whole   bool
		all     bool
	}{
		{"public.*", "public", true, false},
		{`"we.ird".*`, "we.ird", true, false},
		{"*", "", false, true},
		{"*.*", "", false, true},
		{"pub*.*", "", false, false},
		{"public.order*", "", false, false},
		{"public.orders", "", false, false},
		{"orders", "", false, false},
		{"*.orders", "", false, false},
	} {
		p, err := ParseTablePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		schema, whole := p.WholeSchema()
		if schema != tt.schema || whole != tt.whole || p.All() != tt.all {
			t.Errorf("%s: WholeSchema() = %q, %v; All() = %v; want %q, %v, %v", tt.pattern, schema, whole, p.All(), tt.schema, tt.whole, tt.all)
		}
	}
}
