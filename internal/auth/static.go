package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// StaticToken is one configured token of mode token.
type StaticToken struct {
	// Name identifies the token in logs and whoami (its Subject).
	Name string `yaml:"name"`
	// Token is the secret itself: at least MinStaticToken bytes of bearer
	// token characters.
	Token string `yaml:"token"`
	// Scope names an entry of Config.Scopes that narrows the default
	// scope for this token; empty: the default scope alone.
	Scope string `yaml:"scope"`
}

// MinStaticToken is the shortest static token accepted, in bytes: 32
// random base64 characters hold 192 bits.
const MinStaticToken = 32

// staticTokens verifies static tokens: the presented token's SHA-256 is
// compared with every configured token's in constant time, without
// stopping at a match, so the time taken says nothing about which token
// (or how much of one) matched.
type staticTokens struct {
	entries []staticEntry
}

type staticEntry struct {
	sum      [sha256.Size]byte
	identity Identity
}

func (s *staticTokens) verify(tok string) (*Identity, bool) {
	sum := sha256.Sum256([]byte(tok))
	found := -1
	for i := range s.entries {
		if subtle.ConstantTimeCompare(sum[:], s.entries[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	id := s.entries[found].identity
	return &id, true
}

// CheckStaticToken reports what is wrong with a configured token, without
// quoting it.
func CheckStaticToken(tok string) error {
	switch {
	case len(tok) < MinStaticToken:
		return fmt.Errorf("is %d bytes: want at least %d random characters, e.g. openssl rand -base64 32", len(tok), MinStaticToken)
	case !validToken(tok):
		return fmt.Errorf("holds characters a bearer token may not: want A-Z a-z 0-9 - . _ ~ + / and trailing =")
	case IsTicket(tok):
		return fmt.Errorf("starts with %q, which marks tickets: choose another token", ticketPrefix)
	}
	return nil
}

// LoadTokensFile reads a tokens file: YAML (.yaml or .yml), a list of
// {name, token, scope}; or lines "<token> <scope> [<name>]", with blank
// lines and lines starting with # ignored, a scope of "-" meaning the
// default scope alone, and the name defaulting to "<file>:<line>". Errors
// name the line, never its content.
func LoadTokensFile(path string) ([]StaticToken, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		var out []StaticToken
		if err := yaml.UnmarshalWithOptions(data, &out, yaml.DisallowUnknownField()); err != nil {
			return nil, fmt.Errorf("tokens file %s: want a YAML list of {name, token, scope} (the details are not shown: the file holds secrets)", path)
		}
		return out, nil
	}
	var out []StaticToken
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxTokenBytes+1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("tokens file %s line %d: want \"<token> <scope> [<name>]\"", path, n)
		}
		t := StaticToken{Token: f[0], Scope: f[1], Name: fmt.Sprintf("%s:%d", filepath.Base(path), n)}
		if t.Scope == "-" {
			t.Scope = ""
		}
		if len(f) == 3 {
			t.Name = f[2]
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file %s: a line is longer than %d bytes", path, MaxTokenBytes+1024)
	}
	return out, nil
}

func sha256Sum(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
