package config

import (
	"strings"
	"testing"
	"time"
)

// TestValidAuth: the configurations of docs/security.md validate, get
// their defaults, and redact their secrets.
func TestValidAuth(t *testing.T) {
	const tok = "tenant7-token-0123456789abcdefghijklmn"
	for name, a := range map[string]Auth{
		"jwt secret": {Mode: AuthJWT, JWT: JWT{Secret: "0123456789abcdef0123456789abcdef", Audience: "pgcdc"},
			Scope: AuthScope{Tables: []string{"public.orders"}, Filter: []string{"tenant_id=eq.{claims.tenant_id}"},
				Columns: map[string]ColumnRule{"public.users": {Exclude: []string{"password_hash"}}}, TablesClaim: "pgcdc_tables"}},
		"jwt jwks":          {Mode: AuthJWT, JWT: JWT{JWKSURL: "https://id.example.com/jwks.json", Issuer: "https://id.example.com", Algorithms: []string{"RS256", "ES256"}}},
		"jwt loopback jwks": {Mode: AuthJWT, JWT: JWT{JWKSURL: "http://127.0.0.1:8081/jwks.json"}},
		"token": {Mode: AuthToken, Tokens: []StaticToken{{Name: "alice", Token: tok, Scope: "t7"}}, TokensFile: "/etc/pgcdc/tokens",
			Scopes: map[string]AuthScope{"t7": {Filter: []string{"tenant_id=eq.7"}}}},
		"single token": {Mode: AuthToken, Token: tok},
	} {
		c := &Config{Source: Source{DSN: "postgres://x"}, Server: Server{Auth: a}, Sinks: []Sink{{Type: TypeStdout}}}
		c.SetDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if c.Server.Auth.TicketTTL != DefaultTicketTTL || a.Mode == AuthJWT && c.Server.Auth.JWT.Leeway != DefaultJWTLeeway {
			t.Errorf("%s: defaults ticket_ttl %v, leeway %v", name, c.Server.Auth.TicketTTL, c.Server.Auth.JWT.Leeway)
		}
		r := c.Redacted()
		for _, secret := range []string{tok, "0123456789abcdef0123456789abcdef"} {
			if strings.Contains(strings.Join([]string{r.Server.Auth.Token, r.Server.Auth.JWT.Secret, tokensOf(r)}, " "), secret) {
				t.Errorf("%s: Redacted shows a secret", name)
			}
		}
	}
	c := &Config{Server: Server{Auth: Auth{Mode: AuthToken, Token: tok, TicketTTL: time.Minute}}}
	c.SetDefaults()
	if c.Server.Auth.TicketTTL != time.Minute {
		t.Error("SetDefaults replaced a ticket_ttl that was set")
	}
}

func tokensOf(c *Config) string {
	var b strings.Builder
	for _, t := range c.Server.Auth.Tokens {
		b.WriteString(t.Token)
	}
	return b.String()
}

// TestAuthScopeRules: the conversion internal/wiring uses keeps every
// field.
func TestAuthScopeRules(t *testing.T) {
	s := AuthScope{Tables: []string{"a"}, Filter: []string{"x=eq.1"}, TablesClaim: "c",
		Columns: map[string]ColumnRule{"t": {Include: []string{"id"}}, "u": {Exclude: []string{"p"}}}}
	r := s.Rules()
	if r.Tables[0] != "a" || r.Filter[0] != "x=eq.1" || r.TablesClaim != "c" || r.Columns["t"].Include[0] != "id" || r.Columns["u"].Exclude[0] != "p" {
		t.Errorf("Rules() = %+v", r)
	}
}

// TestOpenListenNeedsExplicitAuth: live sinks beyond loopback with the
// default mode none are refused; mode none written in the file or set by
// PGCDC_SERVER_AUTH_MODE is accepted, and so are loopback and a mode.
func TestOpenListenNeedsExplicitAuth(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		env  []string
		ok   bool
	}{
		{`server: {listen: "0.0.0.0:8080"}`, nil, false},
		{`server: {listen: "[::]:8080"}`, nil, false},
		{`server: {listen: "192.0.2.1:8080"}`, nil, false},
		{`server: {listen: "0.0.0.0:8080", auth: {mode: none}}`, nil, true},
		{`server: {listen: "0.0.0.0:8080"}`, []string{"PGCDC_SERVER_AUTH_MODE=none"}, true},
		{`server: {listen: "127.0.0.1:8080"}`, nil, true},
		{`server: {listen: "localhost:8080"}`, nil, true},
		{`server: {listen: "0.0.0.0:8080", auth: {mode: token, token: "0123456789abcdefghijklmnopqrstuvwxyz"}}`, nil, true},
	} {
		doc, err := ParseDocument([]byte("source: {dsn: \"postgres://u@h/db\"}\n"+tc.yaml+"\nsinks: [{name: live, type: sse}]\n"), "t.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = doc.Resolve(tc.env, NeedAll)
		if got := err == nil; got != tc.ok {
			t.Errorf("%s %v: %v", tc.yaml, tc.env, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "server.auth") || !strings.Contains(err.Error(), "mode: none")) {
			t.Errorf("%s: the error does not name server.auth and the fix: %v", tc.yaml, err)
		}
	}
}
