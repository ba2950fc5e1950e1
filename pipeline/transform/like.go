package transform

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// likeKind is the kind of one element of a compiled LIKE pattern.
type likeKind uint8

const (
	likeLiteral likeKind = iota // text that must appear as is
	likeOne                     // _: exactly one character
	likeAny                     // %: any run of characters
)

// likeToken is one element of a compiled LIKE pattern.
type likeToken struct {
	kind likeKind
	text string // likeLiteral only
}

// compileLike compiles a SQL LIKE pattern: % matches any run of characters,
// _ exactly one character, and a backslash makes the next character
// literal. Runs of literal characters become one token.
func compileLike(p string) ([]likeToken, error) {
	var toks []likeToken
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, likeToken{kind: likeLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); {
		switch c := p[i]; c {
		case '\\':
			if i+1 == len(p) {
				return nil, errors.New(`like pattern ends with the escape character \: write \\ for a backslash`)
			}
			_, size := utf8.DecodeRuneInString(p[i+1:])
			lit.WriteString(p[i+1 : i+1+size])
			i += 1 + size
		case '%':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != likeAny {
				toks = append(toks, likeToken{kind: likeAny})
			}
			i++
		case '_':
			flush()
			toks = append(toks, likeToken{kind: likeOne})
			i++
		default:
			_, size := utf8.DecodeRuneInString(p[i:])
			lit.WriteString(p[i : i+size])
			i += size
		}
	}
	flush()
	return toks, nil
}

// matchLike reports whether s matches the compiled pattern toks. It
// backtracks only to the most recent %, so it runs in O(len(s)·len(toks))
// and allocates nothing.
func matchLike(toks []likeToken, s string) bool {
	p, i := 0, 0
	star, starI := -1, 0
	for {
		if p < len(toks) {
			t := toks[p]
			switch t.kind {
			case likeAny:
				if p == len(toks)-1 {
					return true // a trailing % matches the rest
				}
				star, starI = p, i
				p++
				continue
			case likeOne:
				if i < len(s) {
					_, size := utf8.DecodeRuneInString(s[i:])
					i += size
					p++
					continue
				}
			case likeLiteral:
				if strings.HasPrefix(s[i:], t.text) {
					i += len(t.text)
					p++
					continue
				}
			}
		} else if i == len(s) {
			return true
		}
		// Mismatch: let the last % swallow one more character.
		if star < 0 || starI >= len(s) {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[starI:])
		starI += size
		p, i = star+1, starI
	}
}
