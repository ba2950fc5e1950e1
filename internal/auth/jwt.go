package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWTConfig configures JWT verification. Exactly one key source is set:
// Secret (HMAC), PublicKeyFile, JWKSURL or JWKSFile.
type JWTConfig struct {
	// Secret is the HMAC key of HS256/384/512 tokens.
	Secret string
	// PublicKeyFile is a PEM public key or certificate (RSA, ECDSA or
	// Ed25519).
	PublicKeyFile string
	// JWKSURL is a JSON Web Key Set fetched over HTTP(S), refreshed every
	// JWKSRefresh and, rate-limited to once per JWKSMinRefresh, when a
	// token names a kid the set lacks.
	JWKSURL string
	// JWKSFile is a JSON Web Key Set read once at startup.
	JWKSFile string
	// Audience, when set, must be one of the token's aud.
	Audience string
	// Issuer, when set, must be the token's iss; it is checked before any
	// key is looked up, so a token of another issuer never causes a fetch.
	Issuer string
	// Algorithms is the allowlist; empty: HS256 for a secret, the key's
	// algorithm for a public key, RS256, ES256 and EdDSA for a key set. An
	// HMAC algorithm is allowed only with Secret, the others only with
	// public keys: a public key is never an HMAC secret.
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// JWKSRefresh is how often the key set is fetched again (0: 1h).
	JWKSRefresh time.Duration
	// JWKSMinRefresh bounds fetches caused by unknown kids (0: 1m).
	JWKSMinRefresh time.Duration
	// HTTPClient fetches the key set (nil: a client with a 10 s timeout).
	HTTPClient *http.Client
}

// jwtVerifier verifies JWTs against one key source.
type jwtVerifier struct {
	cfg    JWTConfig
	algs   []string
	secret []byte
	public any
	keys   keyfunc.Keyfunc // JWKS
	parser *jwt.Parser
}

func newJWTVerifier(ctx context.Context, cfg JWTConfig, logger *slog.Logger) (*jwtVerifier, error) {
	v := &jwtVerifier{cfg: cfg}
	sources := 0
	for _, s := range []string{cfg.Secret, cfg.PublicKeyFile, cfg.JWKSURL, cfg.JWKSFile} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("jwt: want exactly one of secret, public_key_file, jwks_url or jwks_file")
	}
	var family []string
	switch {
	case cfg.Secret != "":
		v.secret, family = []byte(cfg.Secret), hmacAlgs
	case cfg.PublicKeyFile != "":
		key, fam, err := loadPublicKey(cfg.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("jwt: %w", err)
		}
		v.public, family = key, fam
	default:
		keys, err := newKeySet(ctx, cfg, logger)
		if err != nil {
			return nil, fmt.Errorf("jwt: %w", err)
		}
		v.keys, family = keys, slices.Concat(rsaAlgs, ecdsaAlgs, eddsaAlgs)
	}
	v.algs = cfg.Algorithms
	if len(v.algs) == 0 {
		v.algs = family[:1]
		if v.keys != nil {
			v.algs = defaultJWKS
		}
	}
	for _, a := range v.algs {
		if !slices.Contains(family, a) {
			return nil, fmt.Errorf("jwt: algorithm %q does not fit the key (%s): allowed here: %v", a, keySourceName(cfg), family)
		}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithJSONNumber(),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

func keySourceName(cfg JWTConfig) string {
	switch {
	case cfg.Secret != "":
		return "an HMAC secret"
	case cfg.PublicKeyFile != "":
		return "public_key_file"
	}
	return "a key set"
}

// newKeySet loads a JWKS from the URL or the file. Keys are cached by kid
// (for the one configured issuer); an unknown kid refreshes the set at
// most once per JWKSMinRefresh, and a token arriving while the limit
// holds fails at once instead of waiting.
func newKeySet(ctx context.Context, cfg JWTConfig, logger *slog.Logger) (keyfunc.Keyfunc, error) {
	if cfg.JWKSFile != "" {
		data, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("jwks_file: %w", err)
		}
		k, err := keyfunc.NewJWKSetJSON(data)
		if err != nil {
			return nil, fmt.Errorf("jwks_file %s: not a JSON Web Key Set: %w", cfg.JWKSFile, err)
		}
		return k, nil
	}
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("jwks_url: want an absolute http(s) URL")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	httpTimeout := client.Timeout
	if httpTimeout <= 0 {
		httpTimeout = 10 * time.Second
	}
	refresh, minRefresh := cfg.JWKSRefresh, cfg.JWKSMinRefresh
	if refresh <= 0 {
		refresh = time.Hour
	}
	if minRefresh <= 0 {
		minRefresh = time.Minute
	}
	fail := false
	where := u.Scheme + "://" + u.Host + u.Path // no user info or query in logs
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               client.Timeout,
		NoErrorReturnFirstHTTPReq: &fail,
		RefreshInterval:           refresh,
		RefreshUnknownKID:         rate.NewLimiter(rate.Every(minRefresh), 1),
		// jwkset bounds both the wait for the limiter and the refresh's
		// HTTP request with this one deadline (jwkset v0.11.4 http.go),
		// so it is the HTTP timeout: 1 ms made every unknown-kid refresh
		// that took longer than a millisecond fail. A token that would
		// wait longer for the limiter still fails at once
		// (rate.Limiter.Wait gives up when the wait would pass the
		// deadline); one that arrives within the timeout of the next
		// allowed refresh waits for it.
		RateLimitWaitMax: httpTimeout,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "jwks refresh failed", "url", where, "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jwks_url %s: %w", where, err)
	}
	return k, nil
}

// verify checks a JWT and returns its claims and expiry.
func (v *jwtVerifier) verify(ctx context.Context, raw string) (Claims, time.Time, error) {
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc(ctx))
	if err != nil {
		return nil, time.Time{}, v.classify(tok, claims, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return nil, time.Time{}, newError(ReasonClaims, "the token has no valid exp claim: pgcdc accepts only tokens that expire")
	}
	return Claims(claims), exp.Time, nil
}

// keyfunc returns the key a token verifies with, after the checks that
// need no key: the algorithm is allowed, and the issuer is the configured
// one (a token of another issuer never makes the key set refresh).
func (v *jwtVerifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if !slices.Contains(v.algs, alg) {
			return nil, algorithmError(alg)
		}
		if v.cfg.Issuer != "" {
			if iss, err := t.Claims.GetIssuer(); err != nil || iss != v.cfg.Issuer {
				return nil, wrapError(ReasonIssuer, "the token's issuer (iss) is not the one configured", jwt.ErrTokenInvalidIssuer)
			}
		}
		var key any
		switch {
		case v.secret != nil:
			key = v.secret
		case v.public != nil:
			key = v.public
		default:
			k, err := v.keys.KeyfuncCtx(ctx)(t)
			if err != nil {
				return nil, newError(ReasonUnknownKey, "no key of the key set verifies the token (unknown kid, even after a refresh)")
			}
			if set, ok := k.(jwt.VerificationKeySet); ok {
				fit := jwt.VerificationKeySet{}
				for _, sk := range set.Keys {
					if keyFits(alg, sk) {
						fit.Keys = append(fit.Keys, sk)
					}
				}
				if len(fit.Keys) == 0 {
					return nil, newError(ReasonUnknownKey, "no key of the key set fits the token's algorithm "+strconv.Quote(alg))
				}
				return fit, nil
			}
			key = k
		}
		if !keyFits(alg, key) {
			return nil, algorithmError(alg)
		}
		return key, nil
	}
}

func algorithmError(alg string) *Error {
	if len(alg) > 16 {
		alg = alg[:16] + "..."
	}
	return newError(ReasonAlgorithm, "the token's algorithm "+strconv.Quote(alg)+" is not allowed (server.auth.jwt.algorithms)")
}

// classify turns a jwt error into an Error of one category. The jwt
// package joins the failures of every claim check; the first category in
// this order wins: what keyfunc decided, malformed, algorithm, signature,
// expired, not yet valid, issuer, audience, other claims.
func (v *jwtVerifier) classify(tok *jwt.Token, claims jwt.MapClaims, err error) error {
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return wrapError(ReasonMalformed, "the token is not a well-formed JWT", jwt.ErrTokenMalformed)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		alg := ""
		if tok != nil && tok.Header != nil {
			alg, _ = tok.Header["alg"].(string)
		}
		return algorithmError(alg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Method != nil && !slices.Contains(v.algs, tok.Method.Alg()) {
			return algorithmError(tok.Method.Alg())
		}
		return wrapError(ReasonSignature, "the token's signature does not verify", jwt.ErrTokenSignatureInvalid)
	case errors.Is(err, jwt.ErrTokenExpired):
		return wrapError(ReasonExpired, "the token has expired: get a new one", jwt.ErrTokenExpired)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims["exp"] == nil:
		return wrapError(ReasonClaims, "the token has no exp claim: pgcdc accepts only tokens that expire", jwt.ErrTokenRequiredClaimMissing)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return wrapError(ReasonNotYetValid, "the token is not valid yet (nbf or iat is in the future): check the clocks", jwt.ErrTokenNotValidYet)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && v.cfg.Issuer != "" && claims["iss"] == nil:
		return wrapError(ReasonIssuer, "the token's issuer (iss) is not the one configured", jwt.ErrTokenInvalidIssuer)
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && v.cfg.Audience != "":
		return wrapError(ReasonAudience, "the token is not meant for this server (aud)", jwt.ErrTokenInvalidAudience)
	}
	return wrapError(ReasonClaims, "the token's registered claims (exp, nbf, iat, aud, iss) are not valid", jwt.ErrTokenInvalidClaims)
}
