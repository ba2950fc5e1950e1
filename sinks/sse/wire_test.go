package sse

import (
	"bytes"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

func TestIndexLineBreak(t *testing.T) {
	for in, want := range map[string]int{"": -1, "abc": -1, "a\nb": 1, "a\rb": 1, "ab\r\n": 2, "a\nb\r": 1, "\r": 0} {
		if got := indexLineBreak([]byte(in)); got != want {
			t.Errorf("indexLineBreak(%q) = %d, want %d", in, got, want)
		}
	}
}

// The head the hub builds once per event, followed by the JSON and a blank
// line, is exactly the message appendMessage writes; an event whose JSON
// needs several data lines gets no head.
func TestHeadMatchesMessage(t *testing.T) {
	var g hubtest.Gen
	plain := hubtest.Order(g.Next(), 0, pipeline.OpUpdate, 7, "paid", 70)
	broken := plain.Clone()
	broken.After = append(pipeline.Row(nil), plain.After...)
	broken.After[4] = pipeline.Column{Name: "note", Kind: pipeline.KindJSON, Value: []byte("{\"a\":\n1}")}
	for _, names := range []bool{false, true} {
		s := &Sink{eventNames: names}
		name := ""
		if names {
			name = "update"
		}
		want := appendMessage(nil, plain, name, plain.Encoded())
		got := append(append(s.head(plain), plain.Encoded()...), '\n', '\n')
		if !bytes.Equal(got, want) {
			t.Errorf("event names %v: head path wrote %q, want %q", names, got, want)
		}
		if h := s.head(broken); h != nil {
			t.Errorf("event names %v: head %q for JSON with a line break, want nil", names, h)
		}
	}
}
