package auth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

// TestIndexMatchesApply routes random events through an Index and checks
// that every subscriber gets exactly what its Scope.Apply gives: the index
// may only save work, never change what is delivered.
func TestIndexMatchesApply(t *testing.T) {
	policies := []*Policy{
		mustCompile(t, tenantRules),
		mustCompile(t, Rules{Filter: []string{"tenant_id=in.({claims.t})", "note=neq.hidden"}}),
		mustCompile(t, Rules{Filter: []string{"tenant_id=gte.{claims.tenant_id}"}}), // not indexable
		mustCompile(t, Rules{Tables: []string{"public.orders"}}),
	}
	claims := []string{`{"tenant_id":7,"t":[7]}`, `{"tenant_id":"7.0","t":["8",9]}`, `{"tenant_id":8,"t":[8]}`, `{"tenant_id":9,"t":["x"]}`, `{"tenant_id":"x","t":[7,8]}`}
	ix := NewIndex[int]()
	var subs []*Scope
	for _, p := range policies {
		for _, c := range claims {
			s := mustBind(t, p, c)
			for range 2 { // two subscribers per scope
				ix.Add(s, len(subs))
				subs = append(subs, s)
			}
		}
	}
	// Bind once more: an equal scope from another token joins the class.
	extra := mustBind(t, policies[0], claims[0])
	ix.Add(extra, len(subs))
	subs = append(subs, extra)

	rng := rand.New(rand.NewPCG(1, 2))
	tenantRow := func() pipeline.Row {
		v := []string{"7", "8", "9", "7.0", "x"}[rng.IntN(5)]
		note := []string{"hidden", "shown"}[rng.IntN(2)]
		if v == "x" {
			return row("id", 1, "tenant_id", "x", "note", note)
		}
		return pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: []byte("1")},
			{Name: "tenant_id", Kind: pipeline.KindNumber, Value: []byte(v)}, {Name: "note", Value: pipeline.AppendJSONString(nil, note)}}
	}
	for i := range 2000 {
		var e *pipeline.Event
		table := []string{"orders", "users"}[rng.IntN(2)]
		switch rng.IntN(5) {
		case 0:
			e = event(pipeline.OpInsert, table, row("id", 1), nil, tenantRow())
		case 1:
			e = event(pipeline.OpUpdate, table, row("id", 1), tenantRow(), tenantRow())
		case 2:
			e = event(pipeline.OpUpdate, table, row("id", 1), nil, tenantRow())
		case 3:
			e = event(pipeline.OpDelete, table, row("id", 1), tenantRow(), nil)
		case 4:
			e = &pipeline.Event{Op: pipeline.OpTruncate, Schema: "public", Table: table, Tables: []string{"public.orders", "public.users"}}
		}
		got := map[int]string{}
		ix.Route(e, func(sub int, v *pipeline.Event) {
			if _, dup := got[sub]; dup {
				t.Fatalf("event %d: subscriber %d delivered twice", i, sub)
			}
			got[sub] = string(v.Encoded())
		})
		for sub, s := range subs {
			want := ""
			if v := s.Apply(e); v != nil {
				want = string(v.Encoded())
			}
			if got[sub] != want {
				t.Fatalf("event %d %s: subscriber %d: index gave %q, Apply %q", i, e.Encoded(), sub, got[sub], want)
			}
		}
	}

	for sub, s := range subs {
		ix.Remove(s, sub)
	}
	if n := ix.Len(); n != 0 || len(ix.groups) != 0 || len(ix.list) != 0 {
		t.Fatalf("after removing everyone: %d subscribers, %d groups", n, len(ix.groups))
	}
}

// benchScopes returns n scopes of n tenants (one policy) and an event
// stream spread over them.
func benchScopes(b *testing.B, n int) ([]*Scope, []*pipeline.Event) {
	p := mustCompile(b, tenantRules)
	scopes := make([]*Scope, n)
	for i := range scopes {
		scopes[i] = mustBind(b, p, fmt.Sprintf(`{"tenant_id":%d}`, i))
	}
	events := make([]*pipeline.Event, 1024)
	for i := range events {
		tenant := (i * 7919) % n
		events[i] = event(pipeline.OpInsert, "orders", row("id", i), nil,
			row("id", i, "tenant_id", tenant, "note", "n"+strconv.Itoa(i), "total", i))
	}
	return scopes, events
}

// BenchmarkRoute compares the per-event cost of finding the audience of
// an event among 1,000 subscribers of 1,000 tenants: the Index against
// applying each subscriber's scope, and the unscoped baseline (1,000
// subscribers who all get every event). deliveries/op is how many
// subscribers got the event; compare ns/delivery.
func BenchmarkRoute(b *testing.B) {
	const n = 1000
	scopes, events := benchScopes(b, n)
	report := func(b *testing.B, deliveries int) {
		b.ReportMetric(float64(deliveries)/float64(b.N), "deliveries/op")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(deliveries), "ns/delivery")
	}
	route := func(b *testing.B, scope func(i int) *Scope) {
		ix := NewIndex[int]()
		for i := range n {
			ix.Add(scope(i), i)
		}
		deliveries := 0
		count := func(int, *pipeline.Event) { deliveries++ }
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ix.Route(events[i%len(events)], count)
		}
		report(b, deliveries)
	}
	b.Run("index", func(b *testing.B) { route(b, func(i int) *Scope { return scopes[i] }) })
	b.Run("each-scope", func(b *testing.B) {
		deliveries := 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			e := events[i%len(events)]
			for _, s := range scopes {
				if s.Apply(e) != nil {
					deliveries++
				}
			}
		}
		report(b, deliveries)
	})
	b.Run("unscoped", func(b *testing.B) { route(b, func(int) *Scope { return Unrestricted }) })
}
