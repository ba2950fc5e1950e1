package auth

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// FuzzBindClaim binds fuzzed claim values into forced filters of every
// indexable shape and checks that a claim is always exactly one typed value
// (or, for an in list fed a JSON array, one value per item): it never
// changes the filter's column, operator or number of values, whatever
// commas, parentheses, quotes or operators it holds; a missing or empty
// claim always fails closed.
func FuzzBindClaim(f *testing.F) {
	for _, s := range []string{"7", "7,8", "x) or (1", `"a"`, "", "eq.8", "(7,8)", "{claims.other}", "\x00", "a\"b\\"} {
		f.Add(s, `"`+s+`"`)
	}
	f.Add("8", `[7,"8,9"]`)
	f.Add("8", `{"a":1}`)
	f.Add("8", `12345678901234567890.5`)
	templates := []struct {
		filter string
		op     transform.Operator
		lits   []string // values before the claim's
	}{
		{"tenant_id=eq.{claims.c}", transform.OpEq, nil},
		{"tenant_id=not.neq.{claims.c}", transform.OpNeq, nil},
		{"tenant_id=gt.{claims.c}", transform.OpGt, nil},
		{"tenant_id=in.(eu,{claims.c})", transform.OpIn, []string{"eu"}},
	}
	var policies []*Policy
	for _, tt := range templates {
		policies = append(policies, mustCompile(f, Rules{Filter: []string{tt.filter}}))
	}
	f.Fuzz(func(t *testing.T, claim, raw string) {
		for i, tt := range templates {
			p := policies[i]
			s, err := p.Bind(Claims{"c": claim})
			if claim == "" {
				if ReasonOf(err) != ReasonClaims {
					t.Fatalf("%s: empty claim: %v, want a claims error", tt.filter, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: claim %q: %v", tt.filter, claim, err)
			}
			c := s.conds[0]
			want := append(append([]string(nil), tt.lits...), claim)
			if c.Column() != "tenant_id" || c.Operator() != tt.op || !reflect.DeepEqual(c.Values(), want) {
				t.Fatalf("%s: claim %q bound as %s (values %q)", tt.filter, claim, c, c.Values())
			}
			again, err := transform.ParseCond(c.String())
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Fatalf("%s: claim %q: %q does not parse back: %v", tt.filter, claim, c.String(), err)
			}
			if tt.op == transform.OpEq && utf8.ValidString(claim) { // claims come from JSON: valid UTF-8
				own := pipeline.Column{Name: "tenant_id", Value: pipeline.AppendJSONString(nil, claim)}
				if !c.MatchColumn(own) {
					t.Fatalf("claim %q does not match its own value", claim)
				}
				for _, part := range strings.Split(claim, ",") {
					if part != claim && part != "" && c.MatchColumn(pipeline.Column{Name: "tenant_id", Value: pipeline.AppendJSONString(nil, part)}) {
						t.Fatalf("claim %q matches %q: it became a list", claim, part)
					}
				}
			}
		}
		// Any JSON claim: no panic; a bound scope holds only scalars of
		// the claim.
		var cl Claims
		if decodeClaims([]byte(`{"c":`+raw+`}`), &cl) != nil {
			return
		}
		v := cl["c"]
		for i, tt := range templates {
			s, err := policies[i].Bind(cl)
			if err != nil {
				if ReasonOf(err) != ReasonClaims {
					t.Fatalf("%s: claim %s: %v", tt.filter, raw, err)
				}
				continue
			}
			if _, isList := v.([]any); isList && tt.op != transform.OpIn {
				t.Fatalf("%s: a list claim %s was bound: %s", tt.filter, raw, s.conds[0])
			}
		}
	})
}

// FuzzParseAuthMessage checks that a WebSocket auth message either gives
// a token that FromRequest would accept too and that survives a round
// trip, or an error whose message is one of the fixed ones (never built
// from the input).
func FuzzParseAuthMessage(f *testing.F) {
	seeds := []string{
		`{"type":"auth","token":"abc.def"}`, `{"type":"subscribe","id":"s1"}`, `{"type":"auth"}`, `{"token":"x"}`,
		`{"type":"auth","token":"a","x":1}`, `{"type":"auth","type":"auth","token":"a"}`, `{"type":"auth","token":"a","token":"a"}`,
		`{"type":7,"token":"a"}`, `{"type":"auth","token":7}`, `{"type":"auth","token":"a b"}`, `{"type":"auth","token":"a"} x`,
		`[1]`, `{`, ``, `{"type":"auth","token":"` + strings.Repeat("a", MaxAuthMessageBytes) + `"}`, `{"x":[1,{"y":2}],"type":"auth","token":"t"}`,
		`{"type":"auth","x":{`,
	}
	known := map[string]bool{}
	for _, s := range seeds {
		f.Add([]byte(s))
		if _, err := ParseAuthMessage([]byte(s)); err != nil {
			known[err.Error()] = true
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := ParseAuthMessage(msg)
		if err != nil {
			if !known[err.Error()] {
				t.Fatalf("message %q: new error text %q: errors must not be built from the input", msg, err)
			}
			return
		}
		if c.Source != SourceMessage || !validToken(c.Token) {
			t.Fatalf("message %q gave %q from %s", msg, c.Token, c.Source)
		}
		again, _ := json.Marshal(map[string]string{"type": "auth", "token": c.Token})
		if c2, err := ParseAuthMessage(again); err != nil || c2 != c {
			t.Fatalf("round trip of %q: %v, %v", c.Token, c2, err)
		}
	})
}

// FuzzFromRequest checks credential extraction from fuzzed headers,
// cookies and query strings: the token found is a valid bearer token taken
// from the place it reports, and an error's text is one of the fixed ones.
func FuzzFromRequest(f *testing.F) {
	type in struct{ header, cookie, query string }
	seeds := []in{
		{"Bearer abc.def", "", ""}, {"bearer  abc", "", ""}, {"Basic x", "", ""}, {"Bearer", "", ""}, {"Bearer a b", "", ""},
		{"", CookieName + "=abc", ""}, {"", CookieName + "=a; " + CookieName + "=b", ""}, {"", CookieName + "=a b", ""},
		{"", "", QueryParam + "=abc"}, {"", "", QueryParam + "=a&" + QueryParam + "=b"}, {"", "", QueryParam + "=%zz"},
		{"", "", QueryParam + "=a+b"}, {"", "", ""}, {"", "", "access%5Ftoken=x"}, {"", "", QueryParam + "="},
	}
	known := map[string]bool{}
	for _, s := range seeds {
		f.Add(s.header, s.cookie, s.query)
		if _, err := FromRequest(request(s.header, s.cookie, s.query)); err != nil {
			known[err.Error()] = true
		}
	}
	f.Fuzz(func(t *testing.T, header, cookie, query string) {
		if strings.ContainsAny(header+cookie, "\r\n") {
			return // not a header value net/http would deliver
		}
		r := request(header, cookie, query)
		c, err := FromRequest(r)
		if err != nil {
			if !known[err.Error()] {
				t.Fatalf("header %q, cookie %q, query %q: new error text %q", header, cookie, query, err)
			}
			return
		}
		if !validToken(c.Token) {
			t.Fatalf("invalid token %q accepted from %s", c.Token, c.Source)
		}
		var from string
		switch c.Source {
		case SourceHeader:
			from = header
		case SourceCookie:
			from = cookie
			if r.Header.Get("Authorization") != "" {
				t.Fatalf("cookie used although an Authorization header was sent")
			}
		case SourceQuery:
			for part := range strings.SplitSeq(query, "&") {
				k, v, _ := strings.Cut(part, "=")
				if key, err := url.QueryUnescape(k); err == nil && key == QueryParam {
					if val, err := url.QueryUnescape(v); err == nil && val == c.Token {
						from = val
					}
				}
			}
			if header != "" || len(r.CookiesNamed(CookieName)) > 0 {
				t.Fatalf("query used although a header or cookie was sent")
			}
		default:
			t.Fatalf("source %v", c.Source)
		}
		if !strings.Contains(from, c.Token) {
			t.Fatalf("token %q is not in the %s %q", c.Token, c.Source, from)
		}
	})
}
