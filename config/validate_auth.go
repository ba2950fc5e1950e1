package config

import (
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/internal/auth"
)

// minJWTSecret is the shortest HMAC secret accepted: RFC 7518 §3.2 wants
// a key at least as long as the hash (HS256: 32 bytes).
const minJWTSecret = 32

// Rules returns the scope as package auth takes it (internal/wiring builds
// auth.Config with it; Validate compiles it with the same parser).
func (s AuthScope) Rules() auth.Rules {
	r := auth.Rules{Tables: s.Tables, Filter: s.Filter, TablesClaim: s.TablesClaim}
	if len(s.Columns) > 0 {
		r.Columns = make(map[string]auth.ColumnRule, len(s.Columns))
		for k, v := range s.Columns {
			r.Columns[k] = auth.ColumnRule(v)
		}
	}
	return r
}

// empty reports whether the scope sets nothing.
func (s AuthScope) empty() bool {
	return len(s.Tables) == 0 && len(s.Filter) == 0 && len(s.Columns) == 0 && s.TablesClaim == ""
}

func (j *JWT) empty() bool {
	return j.Secret == "" && j.PublicKeyFile == "" && j.JWKSURL == "" && j.JWKSFile == "" &&
		j.Audience == "" && j.Issuer == "" && len(j.Algorithms) == 0 && j.Leeway == 0
}

// validateAuth checks server.auth. Files (tokens_file, public_key_file,
// jwks_file) and the key set are checked when the server starts.
func (c *Config) validateAuth(errs *errorList) {
	a := &c.Server.Auth
	const path = "server.auth"
	switch a.Mode {
	case AuthNone:
		staticOnly(errs, a, "")
		if !a.JWT.empty() {
			errs.add(path+".jwt", "only used with mode %q", AuthJWT)
		}
		if !a.Scope.empty() {
			errs.add(path+".scope", "only used with mode %q or %q: mode none lets everyone read everything", AuthToken, AuthJWT)
		}
		return
	case AuthToken:
		if !a.JWT.empty() {
			errs.add(path+".jwt", "only used with mode %q", AuthJWT)
		}
		validateStaticTokens(errs, a)
	case AuthJWT:
		staticOnly(errs, a, ": with mode jwt every client presents a JWT")
		validateJWT(errs, path+".jwt", &a.JWT)
	default:
		errs.add(path+".mode", "unknown mode %s: want one of %s, %s, %s", quoteValue(a.Mode), AuthNone, AuthToken, AuthJWT)
		return
	}
	p, err := auth.Compile(a.Scope.Rules())
	addSubErrors(errs, path+".scope", err)
	if err == nil && a.Mode == AuthToken && p.HasClaims() {
		errs.add(path+".scope", "static tokens have no claims: write the value into the filter (tenant_id=eq.7) instead of {claims...}, and drop tables_claim")
	}
	inRange(errs, path+".ticket_ttl", a.TicketTTL, time.Second, 5*time.Minute)
}

// staticOnly reports each key of mode token that is set.
func staticOnly(errs *errorList, a *Auth, why string) {
	for _, k := range []struct {
		key string
		set bool
	}{{"token", a.Token != ""}, {"tokens", len(a.Tokens) > 0}, {"tokens_file", a.TokensFile != ""}, {"scopes", len(a.Scopes) > 0}} {
		if k.set {
			errs.add("server.auth."+k.key, "only used with mode %q%s", AuthToken, why)
		}
	}
}

func validateStaticTokens(errs *errorList, a *Auth) {
	const path = "server.auth"
	if a.Token == "" && len(a.Tokens) == 0 && a.TokensFile == "" {
		errs.add(path+".tokens", "mode token needs tokens: set tokens (or token, or tokens_file), each token from the environment, e.g. token: ${PGCDC_TOKEN}")
	}
	if a.Token != "" {
		if err := auth.CheckStaticToken(a.Token); err != nil {
			errs.add(path+".token", "%v", err)
		}
	}
	names := map[string]bool{}
	for i, t := range a.Tokens {
		p := index(path+".tokens", i)
		if t.Name == "" {
			errs.add(p+".name", "required: a name for logs and whoami")
		} else if names[t.Name] {
			errs.add(p+".name", "%s is used twice: give every token its own name", quoteValue(t.Name))
		}
		names[t.Name] = true
		if err := auth.CheckStaticToken(t.Token); err != nil {
			errs.add(p+".token", "%v", err)
		}
		if t.Scope != "" {
			if _, ok := a.Scopes[t.Scope]; !ok {
				errs.add(p+".scope", "unknown scope %s: define it under server.auth.scopes (defined: %s)", quoteValue(t.Scope), scopeNames(a.Scopes))
			}
		}
	}
	for _, name := range sortedKeys(a.Scopes) {
		sp := path + ".scopes." + name
		p, err := auth.Compile(a.Scopes[name].Rules())
		addSubErrors(errs, sp, err)
		if err == nil && p.HasClaims() {
			errs.add(sp, "static tokens have no claims: write the value into the filter (tenant_id=eq.7) instead of {claims...}, and drop tables_claim")
		}
	}
}

func validateJWT(errs *errorList, path string, j *JWT) {
	var sources []string
	for _, s := range []struct{ key, val string }{{"secret", j.Secret}, {"public_key_file", j.PublicKeyFile}, {"jwks_url", j.JWKSURL}, {"jwks_file", j.JWKSFile}} {
		if s.val != "" {
			sources = append(sources, s.key)
		}
	}
	switch len(sources) {
	case 0:
		errs.add(path, "mode jwt needs a key: set one of secret, public_key_file, jwks_url or jwks_file")
	case 1:
	default:
		errs.add(path+"."+sources[1], "cannot be combined with %s: want exactly one key source", sources[0])
	}
	if j.Secret != "" && len(j.Secret) < minJWTSecret {
		errs.add(path+".secret", "is %d bytes: want at least %d (RFC 7518 §3.2), e.g. openssl rand -base64 32", len(j.Secret), minJWTSecret)
	}
	if j.JWKSURL != "" {
		if u, err := url.Parse(j.JWKSURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs.add(path+".jwks_url", "want an absolute https URL, e.g. https://id.example.com/.well-known/jwks.json")
		} else if u.Scheme == "http" && !loopback(u.Hostname()) {
			errs.add(path+".jwks_url", "plain http lets anyone on the path replace the keys: use https (http is allowed for loopback only)")
		}
	}
	for i, alg := range j.Algorithms {
		p := index(path+".algorithms", i)
		switch {
		case !slices.Contains(auth.KnownAlgorithms, alg):
			errs.add(p, "unknown algorithm %s: want one of %s (none is never allowed)", quoteValue(alg), strings.Join(auth.KnownAlgorithms, ", "))
		case strings.HasPrefix(alg, "HS") && j.Secret == "":
			errs.add(p, "%s needs jwt.secret: an HMAC algorithm is never verified with a public key (HS/RS confusion)", alg)
		case !strings.HasPrefix(alg, "HS") && j.Secret != "":
			errs.add(p, "%s needs a public key (public_key_file, jwks_url or jwks_file), not a secret", alg)
		}
	}
	inRange(errs, path+".leeway", j.Leeway, 0, 5*time.Minute)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sortedKeys(m map[string]AuthScope) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func scopeNames(m map[string]AuthScope) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}
