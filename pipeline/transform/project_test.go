package transform

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

func userRow() pipeline.Row {
	return pipeline.Row{col("id", num, "7"), col("email", str, `"a@b.c"`), col("password_hash", str, `"x"`), col("bio", str, `"long"`)}
}

func mustProject(t testing.TB, spec ProjectSpec) *Project {
	t.Helper()
	p, err := NewProject(spec)
	if err != nil {
		t.Fatalf("NewProject(%+v): %v", spec, err)
	}
	return p
}

func names(r pipeline.Row) []string {
	if r == nil {
		return nil
	}
	out := []string{}
	for _, c := range r {
		out = append(out, c.Name)
	}
	return out
}

func TestProjectApply(t *testing.T) {
	before, after := userRow(), userRow()[:3] // bio is an unchanged TOAST value
	e := event(pipeline.OpUpdate, "public", "users", before, after)
	e.UnchangedToast = []string{"bio"}
	orig := *e
	origBefore := append(pipeline.Row(nil), before...)
	origEncoded := string(e.AppendJSON(nil))

	tests := []struct {
		name                 string
		spec                 ProjectSpec
		before, after, toast []string
		same                 bool // Apply returns e itself
	}{
		{name: "exclude", spec: ProjectSpec{Tables: []string{"public.users"}, Exclude: []string{"password_hash"}},
			before: []string{"id", "email", "bio"}, after: []string{"id", "email"}, toast: []string{"bio"}},
		{name: "include keeps row order", spec: ProjectSpec{Include: []string{"email", "id"}},
			before: []string{"id", "email"}, after: []string{"id", "email"}},
		{name: "exclude a toasted column", spec: ProjectSpec{Exclude: []string{"bio"}},
			before: []string{"id", "email", "password_hash"}, after: []string{"id", "email", "password_hash"}},
		{name: "include drops everything", spec: ProjectSpec{Include: []string{"nothing"}},
			before: []string{}, after: []string{}},
		{name: "drops nothing", spec: ProjectSpec{Exclude: []string{"nothing"}}, same: true},
		{name: "other table", spec: ProjectSpec{Tables: []string{"public.orders"}, Exclude: []string{"email"}}, same: true},
	}
	for _, tt := range tests {
		p := mustProject(t, tt.spec)
		got := p.Apply(e)
		if tt.same {
			if got != e {
				t.Errorf("%s: Apply returned a copy", tt.name)
			}
			continue
		}
		if got == e {
			t.Fatalf("%s: Apply returned the input event", tt.name)
		}
		if !reflect.DeepEqual(names(got.Before), tt.before) || !reflect.DeepEqual(names(got.After), tt.after) || !reflect.DeepEqual(got.UnchangedToast, tt.toast) {
			t.Errorf("%s: before %v after %v toast %v; want %v %v %v", tt.name, names(got.Before), names(got.After), got.UnchangedToast, tt.before, tt.after, tt.toast)
		}
		if !reflect.DeepEqual(got.Key, e.Key) {
			t.Errorf("%s: key changed to %v", tt.name, got.Key)
		}
		if got.ID() != e.ID() || got.Op != e.Op || got.Table != e.Table {
			t.Errorf("%s: identity changed", tt.name)
		}
		if strings.Contains(string(got.Encoded()), "password_hash") != p.Keep("password_hash") {
			t.Errorf("%s: encoding %s", tt.name, got.Encoded())
		}
	}
	// The input event and its rows are untouched.
	if !reflect.DeepEqual(e.Before, origBefore) || !reflect.DeepEqual(*e, orig) || string(e.AppendJSON(nil)) != origEncoded {
		t.Error("Apply modified its input")
	}
}

func TestProjectEmptyRowIsObject(t *testing.T) {
	p := mustProject(t, ProjectSpec{Include: []string{"nothing"}})
	got := p.Apply(event(pipeline.OpInsert, "public", "users", nil, userRow()))
	if !strings.Contains(string(got.Encoded()), `"before":null,"after":{}`) {
		t.Errorf("encoding %s: want before null and after {}", got.Encoded())
	}
}

func TestProjectTruncateAndNil(t *testing.T) {
	e := event(pipeline.OpTruncate, "public", "users", nil, nil)
	if mustProject(t, ProjectSpec{Exclude: []string{"id"}}).Apply(e) != e {
		t.Error("truncate was copied")
	}
	var p *Project
	ins := event(pipeline.OpInsert, "public", "users", nil, userRow())
	if p.Apply(ins) != ins || !p.Keep("x") || !p.MatchTable("a", "b") || p.Check(pipeline.StaticCatalog{}) != nil {
		t.Error("nil Project is not a no-op")
	}
}

func TestProjectManyColumns(t *testing.T) {
	var row pipeline.Row
	var include []string
	for i := range 20 {
		name := fmt.Sprintf("c%d", i)
		row = append(row, col(name, num, "1"))
		if i%2 == 0 {
			include = append(include, name)
		}
	}
	got := mustProject(t, ProjectSpec{Include: include}).Apply(event(pipeline.OpInsert, "public", "t", nil, row))
	if !reflect.DeepEqual(names(got.After), include) {
		t.Errorf("after = %v, want %v", names(got.After), include)
	}
}

func TestNewProjectErrors(t *testing.T) {
	tests := []struct {
		spec ProjectSpec
		want string
	}{
		{ProjectSpec{}, "include: missing: want exactly one of include or exclude"},
		{ProjectSpec{Include: []string{"a"}, Exclude: []string{"b"}}, "include: cannot be combined with exclude: want exactly one of include or exclude"},
		{ProjectSpec{Exclude: []string{"a", ""}}, "exclude[1]: empty column name"},
		{ProjectSpec{Include: []string{""}}, "include[0]: empty column name"},
		{ProjectSpec{Tables: []string{"ok", "bad table"}, Include: []string{"a"}}, `tables[1]: table pattern "bad table"`},
	}
	for _, tt := range tests {
		_, err := NewProject(tt.spec)
		var es Errors
		if !errors.As(err, &es) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("NewProject(%+v) = %v, want an Errors starting with %q", tt.spec, err, tt.want)
		}
	}
}

func TestSelect(t *testing.T) {
	p, err := Select([]string{"id, status", `"a,b"`})
	if err != nil {
		t.Fatal(err)
	}
	row := pipeline.Row{col("id", num, "1"), col("status", str, `"x"`), col("a,b", str, `"y"`), col("secret", str, `"z"`)}
	got := p.Apply(event(pipeline.OpInsert, "s", "t", nil, row))
	if want := []string{"id", "status", "a,b"}; !reflect.DeepEqual(names(got.After), want) {
		t.Errorf("after = %v, want %v", names(got.After), want)
	}
	for _, bad := range [][]string{{}, {""}, {"id,"}, {"a(b"}} {
		_, err := Select(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "select: ") {
			t.Errorf("Select(%q) = %v, want an error naming select", bad, err)
		}
	}
}
