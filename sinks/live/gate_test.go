package live_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/sinks/live"
)

func TestHostPolicy(t *testing.T) {
	p, err := live.NewHostPolicy([]string{"App.Example.com", "ops.example.com:8443"})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "192.0.2.10": true, "localhost:8080": true, "LOCALHOST": true,
		"localhost.:8080": true, "app.example.com:8080": true, "app.example.com": true, "APP.example.com.:1": true,
		"ops.example.com:8443": true,
		"ops.example.com:8080": false, "evil.example:8080": false, "evil.example": false, "": false,
		"127.0.0.1.evil.example": false, "localhost.evil.example:8080": false, "[fe80::1%eth0]:80": false,
	} {
		if got := p.Allowed(host); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", host, got, want)
		}
	}
	var zero live.HostPolicy
	if !zero.Allowed("127.0.0.1:1") || zero.Allowed("example.com") {
		t.Error("zero policy: want IP literals and localhost only")
	}
	anyHost, _ := live.NewHostPolicy([]string{"*"})
	if !anyHost.Allowed("evil.example") {
		t.Error(`"*" does not allow every host`)
	}
	for _, bad := range []string{"", "http://x", "a b", "user@host"} {
		if _, err := live.NewHostPolicy([]string{bad}); err == nil {
			t.Errorf("NewHostPolicy(%q): no error", bad)
		}
	}
}

// An Authorizer runs after the Host and Origin checks; its refusal is
// answered with its status.
func TestGateAuthorizer(t *testing.T) {
	g, err := live.NewGate(nil, authFunc(func(r *http.Request) (live.Scope, error) {
		if r.Header.Get("Authorization") == "" {
			return live.Scope{}, &live.AuthError{Status: http.StatusUnauthorized, Message: "no token"}
		}
		return live.Scope{}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host, auth string
		want       int
	}{{"evil.example", "x", 421}, {"127.0.0.1", "", 401}, {"127.0.0.1", "Bearer x", 200}} {
		r := httptest.NewRequest("GET", "/events", nil)
		r.Host = c.host
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		if _, ok := g.Admit(w, r, live.Origins{}); ok {
			w.WriteHeader(200)
		}
		if w.Code != c.want {
			t.Errorf("host %s auth %q: %d, want %d", c.host, c.auth, w.Code, c.want)
		}
	}
}

type authFunc func(*http.Request) (live.Scope, error)

func (f authFunc) Authorize(r *http.Request) (live.Scope, error) { return f(r) }

func TestParseQueryNamesEveryBadParameter(t *testing.T) {
	_, problems := live.ParseQuery("tables=x&op=insert&lastEventId=1&since=2", "lastEventId")
	var params []string
	for _, p := range problems {
		params = append(params, p.Param)
	}
	if got := strings.Join(params, ","); got != "tables,since" && got != "since,tables" {
		t.Fatalf("problems for %v, want tables and since", params)
	}
	if _, problems := live.ParseQuery("a=%zz"); len(problems) != 1 || problems[0].Param != "query" {
		t.Fatalf("malformed query: %+v", problems)
	}
}

// FuzzHostPolicy: any Host header gets an answer, never a panic; a host
// that is neither an IP literal nor localhost is allowed only when listed.
func FuzzHostPolicy(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8080", "[::1]:1", "evil.example", "localhost.", "[", "]:", "a:b:c", "%"} {
		f.Add(s)
	}
	p, _ := live.NewHostPolicy([]string{"app.example.com"})
	var zero live.HostPolicy
	f.Fuzz(func(t *testing.T, host string) {
		if p.Allowed(host) && !zero.Allowed(host) && !strings.Contains(strings.ToLower(host), "app.example.com") {
			t.Fatalf("%q allowed but neither an IP literal, localhost nor listed", host)
		}
	})
}

// FuzzParseQuery: any query either parses or names a parameter.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"table=public.orders&op=insert", "a=%zz", "x=1", "", "filter=a%3Deq.1",
		"access_token=abc&table=orders", "access_token=a&access_token=b", "access_token=%zz", "access_token"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, problems := live.ParseQuery(raw, "after")
		for _, p := range problems {
			if p.Param == "" || p.Message == "" {
				t.Fatalf("%q: problem without a parameter: %+v", raw, p)
			}
		}
	})
}

// FuzzAuthorizeQuery: whatever the query, the gate admits a request only
// for the configured token (from access_token, once), refuses every
// other with a reason, and no refusal, nor the redacted query, holds the
// presented token.
func FuzzAuthorizeQuery(f *testing.F) {
	const tok = "fuzz-static-token-0123456789abcdefghij"
	for _, s := range []string{"access_token=" + tok, "access_token=" + tok + "&access_token=" + tok, "table=x&access_token=" + tok,
		"access_token=wrong-token-0123456789abcdefghijkl", "access_token=pgt_" + tok, "access%5Ftoken=" + tok, "access_token=%zz", "", "access_token="} {
		f.Add(s)
	}
	a, err := auth.New(f.Context(), auth.Config{Mode: auth.MethodToken, Tokens: []auth.StaticToken{{Name: "t", Token: tok}}}, nil)
	if err != nil {
		f.Fatal(err)
	}
	az := live.NewAuthorizer(a)
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/events", nil)
		r.URL.RawQuery = raw
		presented, _ := url.ParseQuery(raw)
		vals := presented["access_token"]
		scope, err := az.Authorize(r)
		if err == nil {
			if len(vals) != 1 || vals[0] != tok || scope.Identity == nil {
				t.Fatalf("%q admitted", raw)
			}
			return
		}
		var ae *live.AuthError
		if !errors.As(err, &ae) || ae.Reason == "" || ae.Status != http.StatusUnauthorized {
			t.Fatalf("%q: refusal %v", raw, err)
		}
		for _, v := range vals {
			if len(v) >= 8 && strings.Contains(ae.Message, v) {
				t.Fatalf("%q: the refusal echoes the token: %s", raw, ae.Message)
			}
			if len(v) >= 8 && strings.Count(raw, v) == 1 && strings.Contains(auth.RedactQuery(raw), v) {
				t.Fatalf("%q: RedactQuery keeps the token", raw)
			}
		}
	})
}
