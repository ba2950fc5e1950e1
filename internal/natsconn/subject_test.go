package natsconn

import (
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func TestSubjectTemplate(t *testing.T) {
	for _, c := range []struct{ tmpl, subject, filter, err string }{
		{tmpl: DefaultSubject, subject: "pgcdc.public.orders.insert", filter: "pgcdc.*.*.*"},
		{tmpl: "cdc.{table}", subject: "cdc.orders", filter: "cdc.*"},
		{tmpl: "all", subject: "all", filter: "all"},
		{tmpl: "", err: "empty"},
		{tmpl: "a..b", err: "empty"},
		{tmpl: "a.{table}x", err: "whole token"},
		{tmpl: "a.{tables}", err: "whole token"},
		{tmpl: "a.*", err: "wildcards"},
		{tmpl: "a.>", err: "wildcards"},
	} {
		tp, err := ParseSubject(c.tmpl)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.tmpl, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		e := &pipeline.Event{Op: pipeline.OpInsert, Schema: "public", Table: "orders"}
		if got := tp.Format(e); got != c.subject {
			t.Errorf("%q: subject %q, want %q", c.tmpl, got, c.subject)
		}
		if got := tp.Filter(); got != c.filter {
			t.Errorf("%q: filter %q, want %q", c.tmpl, got, c.filter)
		}
	}
}

// FuzzSubject: a template that parses makes, for any schema and table,
// a subject of the same number of tokens that its filter matches and that
// has no wildcard or space.
func FuzzSubject(f *testing.F) {
	f.Add(DefaultSubject, "public", "orders")
	f.Add("x.{table}", "a.b", "c d*")
	f.Fuzz(func(t *testing.T, tmpl, schema, table string) {
		tp, err := ParseSubject(tmpl)
		if err != nil {
			return
		}
		s := tp.Format(&pipeline.Event{Op: pipeline.OpDelete, Schema: schema, Table: table})
		got, want := strings.Split(s, "."), strings.Split(tp.Filter(), ".")
		if len(got) != len(want) {
			t.Fatalf("subject %q has %d tokens, filter %q %d", s, len(got), tp.Filter(), len(want))
		}
		for i := range got {
			if got[i] == "" || strings.ContainsAny(got[i], "*> \t\r\n") {
				t.Fatalf("subject %q: bad token %q", s, got[i])
			}
			if want[i] != "*" && want[i] != got[i] {
				t.Fatalf("subject %q does not match filter %q", s, tp.Filter())
			}
		}
	})
}
