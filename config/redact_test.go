package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		in, want, secret string
	}{
		{"postgres://user:secret@host:5432/db", "postgres://user:xxxxx@host:5432/db", "secret"},
		{"postgresql://user:p%40ss@host/db?sslmode=require", "postgresql://user:xxxxx@host/db?sslmode=require", "p%40ss"},
		{"postgres://user:p@ss@host/db", "postgres://user:xxxxx@host/db", "p@ss"},
		{"postgres://u:a?b@host/db", "postgres://u:xxxxx@host/db", "a?b"},
		{"postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write", "postgres://u:xxxxx@h1:5432,h2:5433/db?target_session_attrs=read-write", "pw"},
		{"postgres://host/db?user=u&password=secret&sslmode=disable", "postgres://host/db?user=u&password=xxxxx&sslmode=disable", "secret"},
		{"postgres://u:pw@host/db?sslpassword=keypw", "postgres://u:xxxxx@host/db?sslpassword=xxxxx", "keypw"},
		{"postgres://user@host/db", "postgres://user@host/db", ""},
		{"postgres://host/db", "postgres://host/db", ""},
		{"host=localhost user=u password=secret dbname=db", "host=localhost user=u password=xxxxx dbname=db", "secret"},
		{"password=secret", "password=xxxxx", "secret"},
		{"host=x password = 'se cret' user=u", "host=x password = 'xxxxx' user=u", "se cret"},
		{`host=x password='a\'b c' user=u`, "host=x password='xxxxx' user=u", `a\'b c`},
		{`host=x password='unterminated secret`, "host=x password='xxxxx'", "unterminated secret"},
		{`host=x password=back\ slash user=u`, "host=x password=xxxxx user=u", `back\ slash`},
		{"sslpassword=keypw host=x PASSWORD=Secret", "sslpassword=xxxxx host=x PASSWORD=xxxxx", "Secret"},
		{"host=x application_name=mypassword=1", "host=x application_name=mypassword=1", ""},
		{"host=x user=u", "host=x user=u", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		got := RedactDSN(tt.in)
		if got != tt.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("RedactDSN(%q) = %q still holds %q", tt.in, got, tt.secret)
		}
	}
}

// TestRedacted prints full.yaml redacted against a golden file, checks
// that no secret is left, and that the copy shares nothing with the
// original.
func TestRedacted(t *testing.T) {
	cfg, err := resolveFile("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Auth.Token = "t0ps3cret" // not valid with mode none; Redacted does not validate
	cfg.Server.Auth.JWT.Secret = "jwt-s3cret"
	cfg.Sinks[2].URL = "https://hookuser:hook-s3cret@hooks.example.com/pgcdc"
	orig := cfg.deepCopyForTest()

	red := cfg.Redacted()
	out, err := Marshal(red)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(secrets, "jwt-s3cret", "hook-s3cret", "Bearer abc", "acme") {
		if strings.Contains(string(out), s) {
			t.Errorf("redacted config holds %q", s)
		}
	}
	golden(t, "testdata/redacted.golden", string(out))

	// Change every reference in the copy; the original must not move.
	red.Source.Tables[0] = "changed"
	red.Transforms[0].Filter.Where[0] = "changed"
	red.Sinks[0].Filter.Tables[0] = "changed"
	red.Sinks[0].AllowedOrigins[0] = "changed"
	red.Sinks[2].Headers["New"] = "changed"
	if !reflect.DeepEqual(cfg, orig) {
		t.Error("Redacted changed the original or shares memory with it")
	}
}
