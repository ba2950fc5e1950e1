package auth

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// row builds a row from name/value pairs: an int is a number column, a
// string a text column.
func row(kv ...any) pipeline.Row {
	var r pipeline.Row
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		switch v := kv[i+1].(type) {
		case int:
			r = append(r, pipeline.Column{Name: name, Kind: pipeline.KindNumber, Value: []byte(strconv.Itoa(v))})
		case string:
			r = append(r, pipeline.Column{Name: name, Kind: pipeline.KindString, Value: pipeline.AppendJSONString(nil, v)})
		case nil:
			r = append(r, pipeline.Column{Name: name, Kind: pipeline.KindString, Value: []byte("null")})
		default:
			panic("row: unsupported value")
		}
	}
	return r
}

func event(op pipeline.Op, table string, key, before, after pipeline.Row) *pipeline.Event {
	e := &pipeline.Event{Op: op, Schema: "public", Table: table, CommitLSN: 0x16B3748, Seq: 3, XID: 7,
		CommitTime: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Key: key, Before: before, After: after}
	e.Encoded()
	return e
}

func mustCompile(t testing.TB, rules ...Rules) *Policy {
	t.Helper()
	p, err := Compile(rules...)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func mustBind(t testing.TB, p *Policy, claims string) *Scope {
	t.Helper()
	s, err := p.Bind(parseClaims(t, claims))
	if err != nil {
		t.Fatalf("Bind(%s): %v", claims, err)
	}
	return s
}

func parseClaims(t testing.TB, s string) Claims {
	t.Helper()
	if s == "" {
		return nil
	}
	var c Claims
	if err := decodeClaims([]byte(s), &c); err != nil {
		t.Fatalf("claims %s: %v", s, err)
	}
	return c
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}
