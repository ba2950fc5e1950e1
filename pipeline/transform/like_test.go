package transform

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestLike(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"%", "", true},
		{"%", "anything", true},
		{"_", "", false},
		{"_", "é", true},
		{"__", "é", false},
		{"a%", "abc", true},
		{"%c", "abc", true},
		{"%b%", "abc", true},
		{"a_c", "abc", true},
		{"a_c", "abbc", false},
		{"a%c%e", "abcde", true},
		{"a%c%e", "abcdf", false},
		{"%aab", "aaab", true},
		{"%a%a%a%b", "aaaaaaaaaaaaaaaaaaaa", false},
		{"%%%x", "abx", true},
		{`50\%`, "50%", true},
		{`50\%`, "500", false},
		{`a\_b`, "a_b", true},
		{`a\_b`, "axb", false},
		{`a\\b`, `a\b`, true},
		{`\é`, "é", true},
		{"%_é", "xé", true},
		{"%_é", "é", false},
		{"日本%", "日本語", true},
		{"_本_", "日本語", true},
	}
	for _, tt := range tests {
		toks, err := compileLike(tt.pattern)
		if err != nil {
			t.Fatalf("compileLike(%q): %v", tt.pattern, err)
		}
		if got := matchLike(toks, tt.s); got != tt.want {
			t.Errorf("%q LIKE %q = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

// TestLikeRegexp compares matchLike with an equivalent regular expression
// on random patterns and strings over a small alphabet.
func TestLikeRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "b", "é", "%", "_", `\`}
	gen := func(n int, pattern bool) string {
		var b strings.Builder
		for range n {
			c := alphabet[r.IntN(len(alphabet))]
			if !pattern && (c == "%" || c == "_" || c == `\`) {
				c = "a"
			}
			b.WriteString(c)
		}
		return b.String()
	}
	for range 20000 {
		p := gen(r.IntN(7), true)
		toks, err := compileLike(p)
		if err != nil {
			continue // trailing backslash
		}
		re := regexp.MustCompile(likeRegexp(p))
		s := gen(r.IntN(8), false)
		if got, want := matchLike(toks, s), re.MatchString(s); got != want {
			t.Fatalf("%q LIKE %q = %v, regexp %s says %v", s, p, got, re, want)
		}
	}
}

func likeRegexp(p string) string {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(p); {
		switch p[i] {
		case '%':
			b.WriteString(".*")
			i++
		case '_':
			b.WriteString(".")
			i++
		case '\\':
			i++
			fallthrough
		default:
			j := i + 1
			for j < len(p) && p[j] >= 0x80 && p[j] < 0xC0 {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j
		}
	}
	b.WriteString(`)$`)
	return b.String()
}
