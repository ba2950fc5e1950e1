package transform

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

var catalog = pipeline.StaticCatalog{
	{Schema: "public", Table: "orders", Columns: []pipeline.ColumnInfo{
		{Name: "id", Kind: num, Type: "int8", Key: true},
		{Name: "status", Kind: str, Type: "text"},
		{Name: "total", Kind: num, Type: "numeric"},
		{Name: "paid", Kind: boo, Type: "bool"},
		{Name: "created_at", Kind: tim, Type: "timestamptz"},
	}},
	{Schema: "public", Table: "users", Columns: []pipeline.ColumnInfo{
		{Name: "id", Kind: num, Type: "int8", Key: true},
		{Name: "email", Kind: str, Type: "text"},
	}},
}

func TestFilterCheck(t *testing.T) {
	tests := []struct {
		spec FilterSpec
		want []string // one per problem; empty = valid
		is   error
	}{
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"status=eq.paid", "total=gt.1e3", "paid=is.true", "created_at=gte.2026-01-01", "id=in.(1,2)"}}},
		{spec: FilterSpec{Where: []string{"id=gt.5"}}}, // every table has id
		{spec: FilterSpec{Tables: []string{"*"}, ExcludeTables: []string{"public.nope"}}},
		{spec: FilterSpec{Tables: []string{"public.nope"}},
			want: []string{`tables[0]: table "public.nope" is not published; published: public.orders, public.users`}, is: ErrNotPublished},
		{spec: FilterSpec{Tables: []string{"public.orders", "audit.*"}},
			want: []string{`tables[1]: tables matching "audit.*" are not published; published: public.orders, public.users`}, is: ErrNotPublished},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"id=eq.1", "stauts=eq.paid"}},
			want: []string{`where[1]: unknown column "stauts" in public.orders; columns: id, status, total, paid, created_at`}, is: ErrUnknownColumn},
		{spec: FilterSpec{Where: []string{"status=eq.paid"}},
			want: []string{`where[0]: unknown column "status" in public.users; columns: id, email`}, is: ErrUnknownColumn},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"total=gt.abc"}},
			want: []string{`where[0]: filter "total=gt.abc": type mismatch: "abc" is not a number, but column "total" of public.orders is numeric`}, is: ErrTypeMismatch},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"id=in.(1,x)"}},
			want: []string{`where[0]: filter "id=in.(1,x)": type mismatch: "x" is not a number`}, is: ErrTypeMismatch},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"paid=eq.yes"}},
			want: []string{`where[0]: filter "paid=eq.yes": type mismatch: "yes" is not true or false, but column "paid" of public.orders is boolean`}, is: ErrTypeMismatch},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"status=is.true"}},
			want: []string{`where[0]: filter "status=is.true": type mismatch: is.true needs a boolean column, but column "status" of public.orders is text`}, is: ErrTypeMismatch},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"total=like.1%"}},
			want: []string{`where[0]: filter "total=like.1%": type mismatch: like needs a text column, but column "total" of public.orders is numeric`}, is: ErrTypeMismatch},
		{spec: FilterSpec{Tables: []string{"nope", "public.orders"}, Where: []string{"x=eq.1", "total=eq.z"}},
			want: []string{`tables[0]: table "public.nope" is not published`, `where[0]: unknown column "x"`, `where[1]: filter "total=eq.z"`}},
	}
	for _, tt := range tests {
		err := mustFilter(t, tt.spec).Check(catalog)
		checkErrors(t, fmt.Sprintf("%+v", tt.spec), err, tt.want, tt.is)
	}
}

func checkErrors(t *testing.T, what string, err error, want []string, is error) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Errorf("%s: Check: %v", what, err)
		}
		return
	}
	var es Errors
	if !errors.As(err, &es) || len(es) != len(want) {
		t.Errorf("%s: Check = %v, want %d problems", what, err, len(want))
		return
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("%s: problem %d:\n  %s\nwant prefix\n  %s", what, i, es[i], w)
		}
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("%s: %v does not wrap %v", what, err, is)
	}
}

func TestProjectCheck(t *testing.T) {
	tests := []struct {
		spec ProjectSpec
		want []string
		is   error
	}{
		{spec: ProjectSpec{Exclude: []string{"email"}}}, // users has it
		{spec: ProjectSpec{Tables: []string{"public.orders"}, Include: []string{"id", "status"}}},
		{spec: ProjectSpec{Tables: []string{"public.orders"}, Include: []string{"id", "email"}},
			want: []string{`include[1]: unknown column "email" in public.orders; columns: id, status`}, is: ErrUnknownColumn},
		{spec: ProjectSpec{Exclude: []string{"password"}},
			want: []string{`exclude[0]: unknown column "password" in public.orders, public.users`}, is: ErrUnknownColumn},
		{spec: ProjectSpec{Tables: []string{"public.nope"}, Exclude: []string{"password"}},
			want: []string{`tables[0]: table "public.nope" is not published`}, is: ErrNotPublished},
	}
	for _, tt := range tests {
		checkErrors(t, fmt.Sprintf("%+v", tt.spec), mustProject(t, tt.spec).Check(catalog), tt.want, tt.is)
	}
}

func TestCheckEmptyCatalog(t *testing.T) {
	err := mustFilter(t, FilterSpec{Tables: []string{"public.orders"}}).Check(pipeline.StaticCatalog{})
	checkErrors(t, "empty catalog", err, []string{`tables[0]: table "public.orders" is not published; published: none`}, ErrNotPublished)
}

func TestCheckLongList(t *testing.T) {
	var cat pipeline.StaticCatalog
	for i := range 25 {
		cat = append(cat, pipeline.TableInfo{Schema: "public", Table: fmt.Sprintf("t%02d", i)})
	}
	err := mustFilter(t, FilterSpec{Tables: []string{"nope"}}).Check(cat)
	if err == nil || !strings.HasSuffix(err.Error(), "public.t19 and 5 more") {
		t.Errorf("Check = %v, want the list elided", err)
	}
}
