package transform

import (
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
)

// col builds a column from its JSON encoding.
func col(name string, kind pipeline.Kind, value string) pipeline.Column {
	return pipeline.Column{Name: name, Kind: kind, Value: []byte(value)}
}

func mustCond(t testing.TB, s string) Cond {
	t.Helper()
	c, err := ParseCond(s)
	if err != nil {
		t.Fatalf("ParseCond(%q): %v", s, err)
	}
	return c
}

func mustPattern(t testing.TB, s string) TablePattern {
	t.Helper()
	p, err := ParseTablePattern(s)
	if err != nil {
		t.Fatalf("ParseTablePattern(%q): %v", s, err)
	}
	return p
}
