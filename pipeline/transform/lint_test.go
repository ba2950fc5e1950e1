package transform

import (
	"errors"
	"strings"
	"testing"
)

// TestFilterCheckConfig: a configured filter whose column no table in
// scope has, or whose value does not parse as the column's type, is an
// error naming the column, the table and what was expected; a column that
// only some tables lack is a warning naming them.
func TestFilterCheckConfig(t *testing.T) {
	tests := []struct {
		spec     FilterSpec
		err      string // substring; "" = no error
		is       error
		warnings []string // substrings, one per warning
	}{
		{spec: FilterSpec{Where: []string{"id=gt.5"}}},
		{spec: FilterSpec{Where: []string{"pricee=gt.10"}},
			err: `where[0]: unknown column "pricee" in public.orders, public.users: every change of these tables would be dropped`, is: ErrUnknownColumn},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"stauts=eq.paid"}},
			err: `where[0]: unknown column "stauts" in public.orders; columns: id, status, total, paid, created_at`, is: ErrUnknownColumn},
		{spec: FilterSpec{Tables: []string{"public.orders"}, Where: []string{"total=gt.abc"}},
			err: `where[0]: filter "total=gt.abc": type mismatch: "abc" is not a number, but column "total" of public.orders is numeric`, is: ErrTypeMismatch},
		{spec: FilterSpec{Where: []string{"status=eq.paid"}},
			warnings: []string{`where[0]: column "status" is not in public.users: their changes never pass this filter`}},
		{spec: FilterSpec{Tables: []string{"public.nope"}},
			err: `tables[0]: table "public.nope" is not published; published: public.orders, public.users`, is: ErrNotPublished},
		{spec: FilterSpec{Tables: []string{"public.orders", "audit.*"}},
			warnings: []string{`tables[1]: no published table matches "audit.*" yet`}},
	}
	for _, tt := range tests {
		f := mustFilter(t, tt.spec)
		warnings, err := f.CheckConfig(catalog)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.spec, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%+v: error %v, want one containing %q", tt.spec, err, tt.err)
		case tt.is != nil && !errors.Is(err, tt.is):
			t.Errorf("%+v: error %v does not wrap %v", tt.spec, err, tt.is)
		}
		if len(warnings) != len(tt.warnings) {
			t.Errorf("%+v: warnings %q, want %d", tt.spec, warnings, len(tt.warnings))
			continue
		}
		for i, w := range tt.warnings {
			if !strings.Contains(warnings[i], w) {
				t.Errorf("%+v: warning %q, want one containing %q", tt.spec, warnings[i], w)
			}
		}
	}
}

// TestProjectCheckConfig: a projection on a table that is not published,
// or of a column no table in scope has, is an error.
func TestProjectCheckConfig(t *testing.T) {
	tests := []struct {
		spec ProjectSpec
		err  string
	}{
		{spec: ProjectSpec{Tables: []string{"public.users"}, Exclude: []string{"email"}}},
		{spec: ProjectSpec{Tables: []string{"public.accounts"}, Exclude: []string{"password_hash"}}, err: `tables[0]: table "public.accounts" is not published`},
		{spec: ProjectSpec{Tables: []string{"public.users"}, Exclude: []string{"emial"}}, err: `exclude[0]: unknown column "emial" in public.users`},
		{spec: ProjectSpec{Include: []string{"id", "nope"}}, err: `include[1]: unknown column "nope"`},
	}
	for _, tt := range tests {
		p, err := NewProject(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.CheckConfig(catalog)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.spec, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%+v: error %v, want one containing %q", tt.spec, err, tt.err)
		}
	}
}
