package sse

import "testing"

func TestIndexLineBreak(t *testing.T) {
	for in, want := range map[string]int{"": -1, "abc": -1, "a\nb": 1, "a\rb": 1, "ab\r\n": 2, "a\nb\r": 1, "\r": 0} {
		if got := indexLineBreak([]byte(in)); got != want {
			t.Errorf("indexLineBreak(%q) = %d, want %d", in, got, want)
		}
	}
}
