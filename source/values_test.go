package source

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// FuzzBytea: bytea's hex text converts to the base64 of the same bytes,
// whatever its length (the conversion works a chunk at a time), and text
// that is not hex stays a JSON string of itself.
func FuzzBytea(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte("hello"), false)
	big := make([]byte, 10_000)
	for i := range big {
		big[i] = byte(rand.N(256))
	}
	f.Add(big, false)
	f.Add([]byte("zz"), true)
	f.Fuzz(func(t *testing.T, raw []byte, corrupt bool) {
		text := []byte(`\x` + hex.EncodeToString(raw))
		if corrupt && len(text) > 2 {
			text[len(text)-1] = 'g'
		}
		got := string(appendBytea(nil, text))
		want := `"` + base64.StdEncoding.EncodeToString(raw) + `"`
		if corrupt && len(text) > 2 {
			want = string(appendString(nil, text))
		}
		if got != want {
			t.Fatalf("appendBytea(%q) = %s, want %s", text, got, want)
		}
	})
}
