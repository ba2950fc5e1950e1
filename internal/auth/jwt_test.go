package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "test-secret-0123456789abcdef0123456789" // #nosec: test only

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSA returns one RSA key per test binary (generating one is slow).
func testRSA(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// sign returns a token of the claims signed with method and key, with
// the kid header when kid is not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// good returns valid claims for the verifier of newHS.
func good() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": "alice", "aud": "pgcdc", "iss": "https://id.example", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "tenant_id": 7}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func newVerifier(t testing.TB, cfg JWTConfig) *jwtVerifier {
	t.Helper()
	v, err := newJWTVerifier(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("newJWTVerifier: %v", err)
	}
	return v
}

func writePEM(t testing.TB, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func publicPEM(t testing.TB, pub any) (string, []byte) {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := writePEM(t, "PUBLIC KEY", der)
	data, _ := os.ReadFile(path)
	return path, data
}

// checkRefusal checks that err is an *Error of reason whose message shows
// none of the secrets.
func checkRefusal(t *testing.T, name string, err error, want Reason, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want %s", name, want)
		return
	}
	if got := ReasonOf(err); got != want {
		t.Errorf("%s: reason %q (%v), want %q", name, got, err, want)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, part := range leakParts(s) {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%s: the error %q shows part of a secret (%q)", name, err, part)
			}
		}
	}
}

// leakParts returns the pieces of a secret whose appearance in a message
// would be a leak: every dot-separated part of a token longer than 8
// bytes, or the secret itself.
func leakParts(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ".") {
		if len(p) > 8 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = append(out, s)
	}
	return out
}

func TestJWTRefusals(t *testing.T) {
	v := newVerifier(t, JWTConfig{Secret: testSecret, Audience: "pgcdc", Issuer: "https://id.example", Leeway: 30 * time.Second})
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c) }
	now := time.Now()
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", good())
	tests := []struct {
		name  string
		token string
		want  Reason // "" accepts
	}{
		{"valid", hs(good()), ""},
		{"expired within the leeway", hs(with(good(), "exp", now.Add(-10*time.Second).Unix())), ""},
		{"malformed", "abc.def", ReasonMalformed},
		{"not base64", "a$b.c$d.e$f", ReasonMalformed},
		{"expired", hs(with(good(), "exp", now.Add(-time.Minute).Unix())), ReasonExpired},
		{"no exp", hs(with(good(), "exp", nil)), ReasonClaims},
		{"exp not a number", hs(with(good(), "exp", "tomorrow")), ReasonClaims},
		{"not yet valid", hs(with(good(), "nbf", now.Add(time.Hour).Unix())), ReasonNotYetValid},
		{"issued in the future", hs(with(good(), "iat", now.Add(time.Hour).Unix())), ReasonNotYetValid},
		{"wrong audience", hs(with(good(), "aud", "other")), ReasonAudience},
		{"no audience", hs(with(good(), "aud", nil)), ReasonAudience},
		{"wrong issuer", hs(with(good(), "iss", "https://evil.example")), ReasonIssuer},
		{"no issuer", hs(with(good(), "iss", nil)), ReasonIssuer},
		{"wrong signature", sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef"), "", good()), ReasonSignature},
		{"tampered payload", tamper(t, hs(good())), ReasonSignature},
		{"alg none", none, ReasonAlgorithm},
		{"HS512 not allowed", sign(t, jwt.SigningMethodHS512, []byte(testSecret), "", good()), ReasonAlgorithm},
		{"RS256 to an HMAC verifier", sign(t, jwt.SigningMethodRS256, testRSA(t), "", good()), ReasonAlgorithm},
		{"unknown alg", unknownAlg(t), ReasonAlgorithm},
	}
	for _, tt := range tests {
		claims, exp, err := v.verify(t.Context(), tt.token)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if exp.IsZero() || claims["sub"] != "alice" {
				t.Errorf("%s: exp %v, claims %v", tt.name, exp, claims)
			}
			continue
		}
		checkRefusal(t, tt.name, err, tt.want, tt.token, testSecret)
	}
}

// tamper changes the payload of a token, keeping its signature.
func tamper(t *testing.T, tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"tenant_id":7`, `"tenant_id":8`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func unknownAlg(t *testing.T) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"XX999","typ":"JWT"}`))
	p, _ := json.Marshal(good())
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + ".c2ln"
}

// TestHSRSConfusion signs an HS256 token with the RSA public key's PEM as
// the HMAC secret: a verifier that let the token pick the algorithm would
// accept it.
func TestHSRSConfusion(t *testing.T) {
	priv := testRSA(t)
	path, pemBytes := publicPEM(t, &priv.PublicKey)
	forged := sign(t, jwt.SigningMethodHS256, pemBytes, "", good())
	for _, cfg := range []JWTConfig{{PublicKeyFile: path}, {PublicKeyFile: path, Algorithms: []string{"RS256", "PS256"}}} {
		v := newVerifier(t, cfg)
		_, _, err := v.verify(t.Context(), forged)
		checkRefusal(t, "HS256 signed with the public key", err, ReasonAlgorithm, forged, string(pemBytes))
		if _, _, err := v.verify(t.Context(), sign(t, jwt.SigningMethodRS256, priv, "", good())); err != nil {
			t.Errorf("RS256 with the key: %v", err)
		}
	}
	if _, err := newJWTVerifier(t.Context(), JWTConfig{PublicKeyFile: path, Algorithms: []string{"HS256"}}, nil); err == nil {
		t.Error("HS256 allowed with a public key")
	}
	if _, err := newJWTVerifier(t.Context(), JWTConfig{Secret: testSecret, Algorithms: []string{"RS256"}}, nil); err == nil {
		t.Error("RS256 allowed with a secret")
	}
	if _, err := newJWTVerifier(t.Context(), JWTConfig{Secret: testSecret, PublicKeyFile: path}, nil); err == nil {
		t.Error("two key sources accepted")
	}
}

func TestPublicKeyFile(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaPriv := testRSA(t)
	for _, k := range []struct {
		name   string
		pub    any
		method jwt.SigningMethod
		priv   any
	}{
		{"rsa", &rsaPriv.PublicKey, jwt.SigningMethodRS256, rsaPriv},
		{"ecdsa", &ec.PublicKey, jwt.SigningMethodES256, ec},
		{"ed25519", edPub, jwt.SigningMethodEdDSA, edPriv},
	} {
		path, _ := publicPEM(t, k.pub)
		v := newVerifier(t, JWTConfig{PublicKeyFile: path})
		if _, _, err := v.verify(t.Context(), sign(t, k.method, k.priv, "", good())); err != nil {
			t.Errorf("%s: %v", k.name, err)
		}
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	if _, err := newJWTVerifier(t.Context(), JWTConfig{PublicKeyFile: writePEM(t, "PRIVATE KEY", der)}, nil); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("a private key file: %v", err)
	}
}

// jwksServer serves a JWKS of RSA public keys by kid and counts requests.
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	hits    atomic.Int64
	latency atomic.Int64 // nanoseconds each answer takes
	*httptest.Server
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{keys: map[string]*rsa.PublicKey{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		time.Sleep(time.Duration(s.latency.Load())) // a key server across a network
		s.mu.Lock()
		defer s.mu.Unlock()
		var set struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range s.keys {
			set.Keys = append(set.Keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(kid string, k *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[kid] = k
}

func TestJWKSUnknownKid(t *testing.T) {
	priv := testRSA(t)
	srv := newJWKSServer(t)
	srv.add("k1", &priv.PublicKey)
	srv.latency.Store(int64(20 * time.Millisecond)) // the refresh must not be cut short
	const window = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The HTTP timeout is also how long a token may wait for the refresh
	// limiter: well under the window, so that the tokens right after a
	// refresh are refused at once.
	v, err := newJWTVerifier(ctx, JWTConfig{JWKSURL: srv.URL, Issuer: "https://id.example", JWKSRefresh: time.Hour, JWKSMinRefresh: window,
		HTTPClient: &http.Client{Timeout: window / 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches at startup, want 1", n)
	}
	if _, _, err := v.verify(ctx, sign(t, jwt.SigningMethodRS256, priv, "k1", good())); err != nil {
		t.Fatalf("k1: %v", err)
	}
	start := time.Now()
	k2 := sign(t, jwt.SigningMethodRS256, priv, "k2", good())
	_, _, err = v.verify(ctx, k2)
	checkRefusal(t, "unknown kid", err, ReasonUnknownKey, k2)
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after an unknown kid, want 2 (one refresh)", n)
	}
	// Within the window: no fetch, whatever the kid and however many.
	for _, kid := range []string{"k3", "k4", "k2"} {
		_, _, err = v.verify(ctx, sign(t, jwt.SigningMethodRS256, priv, kid, good()))
		checkRefusal(t, "unknown kid "+kid+" within the window", err, ReasonUnknownKey)
	}
	// Another issuer never causes a fetch.
	_, _, err = v.verify(ctx, sign(t, jwt.SigningMethodRS256, priv, "k9", with(good(), "iss", "https://evil.example")))
	checkRefusal(t, "other issuer", err, ReasonIssuer)
	if n := srv.hits.Load(); n != 2 && time.Since(start) < window {
		t.Fatalf("%d fetches within the rate limit, want 2", n)
	}
	// The key appears; once the window has passed, the next unknown-kid
	// token refreshes the set and verifies.
	srv.add("k2", &priv.PublicKey)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err = v.verify(ctx, k2)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("k2 still refused after the window: %v", err)
		}
		time.Sleep(window / 10)
	}
	if time.Since(start) < window {
		t.Errorf("refreshed after %v, within the %v limit", time.Since(start), window)
	}
	// At most one refresh per window (the loop above made a token a
	// window/10): a refresh that waited for the limiter may be cut short
	// by the deadline it shares with the wait, so the first after the
	// window is not always the one that finds k2.
	if n, most := srv.hits.Load(), int64(2+time.Since(start)/window+1); n < 3 || n > most {
		t.Errorf("%d fetches in all, want 3 to %d", n, most)
	}
}

func TestJWKSFile(t *testing.T) {
	priv := testRSA(t)
	srv := newJWKSServer(t)
	srv.add("k1", &priv.PublicKey)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	path := filepath.Join(t.TempDir(), "jwks.json")
	f, _ := os.Create(path)
	if _, err := f.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	f.Close()
	v := newVerifier(t, JWTConfig{JWKSFile: path})
	if _, _, err := v.verify(t.Context(), sign(t, jwt.SigningMethodRS256, priv, "k1", good())); err != nil {
		t.Errorf("k1: %v", err)
	}
	_, _, err = v.verify(t.Context(), sign(t, jwt.SigningMethodRS256, priv, "k2", good()))
	checkRefusal(t, "unknown kid in a file", err, ReasonUnknownKey)
	// A symmetric key in a key set is never an HMAC secret.
	_, _, err = v.verify(t.Context(), sign(t, jwt.SigningMethodHS256, []byte(testSecret), "k1", good()))
	checkRefusal(t, "HS256 against a key set", err, ReasonAlgorithm)
}
