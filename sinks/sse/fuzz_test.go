package sse

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzAppendData: whatever the data, the framed lines hold no CR or LF
// inside a field, and a client joining the data lines gets the data back
// with CR and CRLF turned into LF.
func FuzzAppendData(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\r\nb\r", "\r\r\n\n", `{"a":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out := appendData(nil, data)
		if !bytes.HasSuffix(out, []byte("\n")) || bytes.Contains(out, []byte("\r")) {
			t.Fatalf("%q framed as %q", data, out)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			v, ok := strings.CutPrefix(l, "data: ")
			if !ok {
				t.Fatalf("%q: line %q is not a data line", data, l)
			}
			lines = append(lines, v)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		if got := strings.Join(lines, "\n"); got != want {
			t.Fatalf("%q: joined %q, want %q", data, got, want)
		}
	})
}
