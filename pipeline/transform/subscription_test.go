package transform

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func TestSubscription(t *testing.T) {
	q, err := url.ParseQuery("table=public.orders&op=insert,update&op=delete&filter=status%3Deq.paid&filter=total%3Dgt.100&select=id,total&access_token=x")
	if err != nil {
		t.Fatal(err)
	}
	spec := QuerySpec(q)
	want := SubscriptionSpec{Table: []string{"public.orders"}, Op: []string{"insert,update", "delete"}, Filter: []string{"status=eq.paid", "total=gt.100"}, Select: []string{"id,total"}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("QuerySpec = %+v, want %+v", spec, want)
	}
	s, err := NewSubscription(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(catalog); err != nil {
		t.Errorf("Check: %v", err)
	}
	if s.Filter() == nil || s.Project() == nil {
		t.Fatal("missing filter or projection")
	}

	// The filter tests status even though select drops it.
	got := s.Apply(event(pipeline.OpUpdate, "public", "orders", nil, orderRow("1", "paid", "120")))
	if got == nil || !reflect.DeepEqual(names(got.After), []string{"id", "total"}) {
		t.Fatalf("Apply = %+v, want the projected event", got)
	}
	for _, e := range []*pipeline.Event{
		event(pipeline.OpUpdate, "public", "orders", nil, orderRow("1", "draft", "120")),
		event(pipeline.OpUpdate, "public", "users", nil, orderRow("1", "paid", "120")),
		event(pipeline.OpRead, "public", "orders", nil, orderRow("1", "paid", "120")),
	} {
		if s.Apply(e) != nil {
			t.Errorf("kept %s %s.%s", e.Op, e.Schema, e.Table)
		}
	}

	all, err := NewSubscription(SubscriptionSpec{})
	if err != nil {
		t.Fatal(err)
	}
	e := event(pipeline.OpTruncate, "x", "y", nil, nil)
	if all.Apply(e) != e || all.Project() != nil {
		t.Error("an empty subscription is not a pass-through")
	}
}

func TestSubscriptionErrors(t *testing.T) {
	_, err := NewSubscription(SubscriptionSpec{
		Table:  []string{"a.b.c"},
		Op:     []string{"insert,,upsert"},
		Filter: []string{"status=paid"},
		Select: []string{"id,"},
	})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %v is not an Errors", err)
	}
	var fields []string
	for _, e := range es {
		fields = append(fields, e.Field)
	}
	if want := []string{"op", "table", "op", "filter", "select"}; !reflect.DeepEqual(fields, want) {
		t.Errorf("fields = %v, want %v\n%v", fields, want, err)
	}
	if es[2].Error() != `op: unknown op "upsert": want one of insert, update, delete, truncate, read, snapshot_started, snapshot_completed` {
		t.Errorf("op error = %q", es[2])
	}
}

func TestSubscriptionCheck(t *testing.T) {
	s, err := NewSubscription(SubscriptionSpec{Table: []string{"public.*"}, Filter: []string{"status=eq.paid"}, Select: []string{"id,nope"}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Check(catalog)
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("Check = %v, want 2 problems", err)
	}
	if got, want := es[0].Error(), `filter: unknown column "status" in public.users; columns: id, email`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := es[1].Error(), `select: unknown column "nope" in public.orders, public.users`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
