package transform

import (
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func benchEvents() (keep, drop *pipeline.Event) {
	row := func(status, total string) pipeline.Row {
		return pipeline.Row{
			col("id", num, `"9007199254740993"`), col("customer_id", num, "42"), col("status", str, `"`+status+`"`),
			col("total", num, `"`+total+`"`), col("currency", str, `"EUR"`), col("created_at", tim, `"2026-11-23T10:00:00.123456Z"`),
			col("note", str, `"a longer free text note about the order"`), col("paid", boo, "true"),
		}
	}
	return event(pipeline.OpUpdate, "public", "orders", nil, row("paid", "120.50")),
		event(pipeline.OpUpdate, "public", "orders", nil, row("draft", "99.99"))
}

func BenchmarkFilterApply(b *testing.B) {
	f := mustFilter(b, FilterSpec{
		Tables: []string{"public.*"}, ExcludeTables: []string{"public.audit_*"},
		Ops: []string{"insert", "update"}, Where: []string{"status=eq.paid", "total=gt.100"},
	})
	keep, drop := benchEvents()
	b.Run("keep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f.Apply(keep) == nil {
				b.Fatal("dropped")
			}
		}
	})
	b.Run("drop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f.Apply(drop) != nil {
				b.Fatal("kept")
			}
		}
	})
	b.Run("in+time", func(b *testing.B) {
		f := mustFilter(b, FilterSpec{Where: []string{"status=in.(new,paid,shipped)", "created_at=gte.2026-01-01"}})
		b.ReportAllocs()
		for b.Loop() {
			if f.Apply(keep) == nil {
				b.Fatal("dropped")
			}
		}
	})
}

func BenchmarkProjectApply(b *testing.B) {
	keep, _ := benchEvents()
	keep.Before = keep.After
	b.Run("exclude", func(b *testing.B) {
		p := mustProject(b, ProjectSpec{Tables: []string{"public.orders"}, Exclude: []string{"note"}})
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(keep)
		}
	})
	b.Run("include", func(b *testing.B) {
		p := mustProject(b, ProjectSpec{Include: []string{"id", "status", "total"}})
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(keep)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		p := mustProject(b, ProjectSpec{Exclude: []string{"password_hash"}})
		b.ReportAllocs()
		for b.Loop() {
			p.Apply(keep)
		}
	})
}
