package ws

import (
	"errors"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// FuzzParse: any client message becomes a subscribe, an unsubscribe with
// an id, or an error naming at least one parameter; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","id":"s1","table":["public.orders"],"op":["insert"],"filter":["status=eq.paid"],"select":["id","status"],"resume_from":"00000000016B3748:00000003"}`,
		`{"type":"unsubscribe","id":"s1"}`, `{"type":"subscribe","id":"x","filter":"total=in.(1,\"a,b\")"}`,
		`[]`, `null`, `{"type":1}`, `{"id":"a","table":[1]}`, ``, `{"type":"subscribe","id":"s","op":"insert,,"}`,
		`{"type":"auth","token":"abc"}`, `{"type":"auth","id":"s"}`,
	} {
		f.Add([]byte(s))
	}
	s, err := New(testConfig("fuzz", config.Broadcast{}), hubtest.Catalog(), nil)
	if err != nil {
		f.Fatal(err)
	}
	h := s.Hub()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := parse(t.Context(), h, live.Scope{}, data)
		switch r.kind {
		case reqSubscribe, reqUnsubscribe:
			if r.id == "" {
				t.Fatalf("%q: request without id", data)
			}
		case reqError:
			if len(r.problems) == 0 || r.problems[0].Param == "" || r.problems[0].Message == "" {
				t.Fatalf("%q: error without a named parameter: %+v", data, r.problems)
			}
		}
	})
}

// FuzzAuthMessage: the reader's test for an auth message agrees with the
// strict parser of package auth (a valid auth message is never taken for
// a subscription, and a message of type auth is never taken for another
// type), and the gate's answer to it names a reason and never echoes it.
func FuzzAuthMessage(f *testing.F) {
	const tok = "fuzz-static-token-0123456789abcdefghij"
	for _, s := range []string{
		`{"type":"auth","token":"` + tok + `"}`, `{"type":"auth","token":"x"}`, `{"type":"auth"}`,
		`{"token":"a","type":"auth"}`, `{"type":"auth","token":"a","id":"s"}`, `{"type":"subscribe","id":"s"}`,
		`{"type":"auth","type":"auth","token":"a"}`, `{"type":"auth","token":"pgt_abc"}`, `{"type" : "auth" , "token":"` + tok + `"} `,
	} {
		f.Add([]byte(s))
	}
	a, err := auth.New(f.Context(), auth.Config{Mode: auth.MethodToken, Tokens: []auth.StaticToken{{Name: "t", Token: tok}}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	g, err := live.NewGate(nil, live.NewAuthorizer(a))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, perr := auth.ParseAuthMessage(data)
		is := isAuthMessage(data)
		if perr == nil && !is {
			t.Fatalf("%q: a valid auth message not recognised as one", data)
		}
		if is && errors.Is(perr, auth.ErrNotAuthMessage) {
			t.Fatalf("%q: recognised as an auth message, parsed as another type", data)
		}
		if !is {
			return
		}
		scope, err := g.AuthorizeMessage(t.Context(), data)
		var ae *live.AuthError
		switch {
		case err == nil:
			if perr != nil || c.Token != tok || scope.Identity == nil {
				t.Fatalf("%q: admitted (%v, %+v)", data, perr, scope)
			}
		case !errors.As(err, &ae) || ae.Reason == "" || ae.Status < 400:
			t.Fatalf("%q: refusal without a reason: %v", data, err)
		case perr == nil && len(c.Token) >= 8 && strings.Contains(ae.Message, c.Token):
			t.Fatalf("%q: the refusal echoes the token: %s", data, ae.Message)
		}
	})
}
