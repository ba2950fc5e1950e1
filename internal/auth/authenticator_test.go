package auth

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pgcdc/pgcdc/pipeline"
)

const (
	tok7  = "tenant7-token-0123456789abcdefghijklmn"
	tok8  = "tenant8-token-0123456789abcdefghijklmn"
	tokRO = "readonly-token-0123456789abcdefghijklm"
)

func tokenConfig(t *testing.T) Config {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("# comment\n\n"+tok8+" tenant8 bob\n"+tokRO+" -\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{
		Mode:       MethodToken,
		Tokens:     []StaticToken{{Name: "alice", Token: tok7, Scope: "tenant7"}},
		TokensFile: file,
		Scopes: map[string]Rules{
			"tenant7": {Filter: []string{"tenant_id=eq.7"}},
			"tenant8": {Filter: []string{"tenant_id=eq.8"}},
		},
		Scope: Rules{Tables: []string{"public.orders"}, Columns: map[string]ColumnRule{"public.*": {Exclude: []string{"secret"}}}},
	}
}

func TestStaticTokens(t *testing.T) {
	a, err := New(t.Context(), tokenConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	e7 := event(pipeline.OpInsert, "orders", row("id", 1), nil, order(1, 7))
	for _, c := range []struct {
		tok     string
		subject string
		sees7   bool
	}{{tok7, "alice", true}, {tok8, "bob", false}, {tokRO, "tokens:4", true}} {
		id, err := a.Authenticate(t.Context(), Credential{Token: c.tok, Source: SourceHeader})
		if err != nil {
			t.Fatalf("%s: %v", c.subject, err)
		}
		if id.Subject != c.subject || id.Method != MethodToken || !id.Expires.IsZero() {
			t.Errorf("identity %+v, want subject %s", id, c.subject)
		}
		if got := id.Scope.Apply(e7); (got != nil) != c.sees7 || got != nil && strings.Contains(string(got.Encoded()), "secret") {
			t.Errorf("%s: sees %v", c.subject, got)
		}
		if id.Scope.AllowTable("public", "users") {
			t.Errorf("%s: the default scope's tables do not apply", c.subject)
		}
	}
	for _, bad := range []string{tok7[:len(tok7)-1] + "x", tok7 + "x", "short", ""} {
		_, err := a.Authenticate(t.Context(), Credential{Token: bad})
		checkRefusal(t, "near miss", err, ReasonInvalid, bad, tok7)
	}
	if a.String() != "auth mode token (3 tokens)" {
		t.Errorf("String = %q", a.String())
	}

	for name, mutate := range map[string]func(*Config){
		"short token":     func(c *Config) { c.Tokens[0].Token = "abc" },
		"unknown scope":   func(c *Config) { c.Tokens[0].Scope = "nope" },
		"duplicate token": func(c *Config) { c.Tokens = append(c.Tokens, StaticToken{Name: "copy", Token: tok7}) },
		"claims":          func(c *Config) { c.Scope.Filter = []string{"tenant_id=eq.{claims.t}"} },
		"ticket prefix":   func(c *Config) { c.Tokens[0].Token = "pgt_" + tok7 },
		"no tokens":       func(c *Config) { c.Tokens, c.TokensFile = nil, "" },
		"bad file line":   func(c *Config) { os.WriteFile(c.TokensFile, []byte(tok8+"\n"), 0o600) },
	} {
		cfg := tokenConfig(t)
		mutate(&cfg)
		_, err := New(t.Context(), cfg, nil)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), tok7) || strings.Contains(err.Error(), tok8) {
			t.Errorf("%s: error shows a token: %v", name, err)
		}
	}
}

func TestTokensFileYAML(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	os.WriteFile(file, []byte("- {name: carol, token: "+tok7+", scope: tenant7}\n"), 0o600)
	got, err := LoadTokensFile(file)
	if err != nil || len(got) != 1 || got[0].Name != "carol" || got[0].Scope != "tenant7" {
		t.Fatalf("got %+v, %v", got, err)
	}
	os.WriteFile(file, []byte("- {name: carol, tokn: "+tok7+"}\n"), 0o600)
	if _, err := LoadTokensFile(file); err == nil || strings.Contains(err.Error(), tok7) {
		t.Errorf("unknown key: %v", err)
	}
}

func jwtAuthenticator(t *testing.T) *Authenticator {
	a, err := New(t.Context(), Config{Mode: MethodJWT, Scope: tenantRules, JWT: JWTConfig{Secret: testSecret, Audience: "pgcdc", Issuer: "https://id.example"}, TicketTTL: 30 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestJWTAuthenticate(t *testing.T) {
	a := jwtAuthenticator(t)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", with(good(), "exp", exp.Unix()))
	id, err := a.AuthenticateRequest(request("Bearer "+tok, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || id.Source != SourceHeader || !id.Expires.Equal(exp) || id.DisconnectAt().After(exp) {
		t.Errorf("identity %+v", id)
	}
	d := id.Describe(nil)
	if len(d.Filters) != 1 || d.Filters[0] != "tenant_id=eq.7" || d.Expires == nil {
		t.Errorf("whoami %+v", d)
	}
	// A token without the claim the scope binds is refused.
	noTenant := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", with(good(), "tenant_id", nil))
	_, err = a.Authenticate(t.Context(), Credential{Token: noTenant})
	checkRefusal(t, "no tenant claim", err, ReasonClaims, noTenant, testSecret)
	// A static-looking token is not a JWT.
	_, err = a.Authenticate(t.Context(), Credential{Token: tok7})
	checkRefusal(t, "not a JWT", err, ReasonMalformed, tok7)
}

func TestTicketFlow(t *testing.T) {
	a := jwtAuthenticator(t)
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", good())
	post := func(header, cookie string) *http.Request {
		r := request(header, cookie, "")
		r.Method = http.MethodPost
		return r
	}
	tk, err := a.MintTicket(post("Bearer "+tok, ""))
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.AuthenticateRequest(request("", "", QueryParam+"="+tk.Value))
	if err != nil {
		t.Fatal(err)
	}
	if !id.Ticket || id.Source != SourceQuery || id.Subject != "alice" || id.Scope.Describe(nil).Filters[0] != "tenant_id=eq.7" {
		t.Errorf("ticket identity %+v", id)
	}
	_, err = a.AuthenticateRequest(request("", "", QueryParam+"="+tk.Value))
	checkRefusal(t, "ticket reuse", err, ReasonTicket, tk.Value)

	_, err = a.MintTicket(post("", CookieName+"="+tok))
	checkRefusal(t, "ticket from a cookie", err, ReasonMissing, tok)
	tk2, _ := a.MintTicket(post("Bearer "+tok, ""))
	_, err = a.MintTicket(post("Bearer "+tk2.Value, ""))
	checkRefusal(t, "ticket from a ticket", err, ReasonTicket, tk2.Value)
	if _, err := a.AuthenticateRequest(request("", "", QueryParam+"="+tk2.Value)); err != nil {
		t.Errorf("the ticket offered to MintTicket was consumed: %v", err)
	}
	_, err = a.MintTicket(post("Bearer "+sign(t, jwt.SigningMethodHS256, []byte("wrong-secret-0123456789abcdef"), "", good()), ""))
	checkRefusal(t, "ticket for a bad token", err, ReasonSignature)
}

func TestModeNone(t *testing.T) {
	a, err := New(t.Context(), Config{Mode: MethodNone}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.AuthenticateRequest(request("", "", ""))
	if err != nil || id.Scope != Unrestricted || id.Method != MethodNone {
		t.Fatalf("mode none: %+v, %v", id, err)
	}
	e := event(pipeline.OpInsert, "orders", nil, nil, order(1, 7))
	if id.Scope.Apply(e) != e {
		t.Error("the unrestricted scope changed an event")
	}
	if err := a.CheckCatalog(pipeline.StaticCatalog{{Schema: "public", Table: "orders"}}); err != nil {
		t.Errorf("CheckCatalog: %v", err)
	}
}
