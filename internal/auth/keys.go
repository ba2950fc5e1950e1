package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Algorithm families: the key type each algorithm verifies with.
var (
	hmacAlgs    = []string{"HS256", "HS384", "HS512"}
	rsaAlgs     = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	ecdsaAlgs   = []string{"ES256", "ES384", "ES512"}
	eddsaAlgs   = []string{"EdDSA"}
	defaultJWKS = []string{"RS256", "ES256", "EdDSA"}
)

// KnownAlgorithms lists every algorithm server.auth.jwt.algorithms may
// name. none is not one of them.
var KnownAlgorithms = append(append(append(append([]string(nil), hmacAlgs...), rsaAlgs...), ecdsaAlgs...), eddsaAlgs...)

// keyFits reports whether key is of the type alg verifies with, so that a
// key of one family is never used for another (an RSA public key as an
// HMAC secret is the classic confusion).
func keyFits(alg string, key any) bool {
	switch {
	case strings.HasPrefix(alg, "HS"):
		_, ok := key.([]byte)
		return ok
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		_, ok := key.(*rsa.PublicKey)
		return ok
	case strings.HasPrefix(alg, "ES"):
		k, ok := key.(*ecdsa.PublicKey)
		return ok && ecdsaAlgs[curveIndex(k.Curve)] == alg
	case alg == "EdDSA":
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// curveIndex returns the index in ecdsaAlgs of the algorithm of curve c,
// or 0 for an unknown curve (which keyFits then matches only to ES256 when
// the curve is P-256).
func curveIndex(c elliptic.Curve) int {
	switch c {
	case elliptic.P384():
		return 1
	case elliptic.P521():
		return 2
	}
	return 0
}

// loadPublicKey reads a PEM public key (PKIX "PUBLIC KEY", PKCS#1 "RSA
// PUBLIC KEY", or a "CERTIFICATE") and returns it with the algorithms it
// verifies. A private key is refused: pgcdc needs only the public half.
func loadPublicKey(path string) (any, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("public key file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fmt.Errorf("public key file %s: no PEM block: want -----BEGIN PUBLIC KEY-----", path)
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, nil, fmt.Errorf("public key file %s holds a private key: give pgcdc the public key only (openssl pkey -pubout)", path)
		}
		return nil, nil, fmt.Errorf("public key file %s: PEM block %q: want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", path, block.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("public key file %s: %w", path, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return k, rsaAlgs, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, ecdsaAlgs[curveIndex(k.Curve) : curveIndex(k.Curve)+1], nil
		}
		return nil, nil, fmt.Errorf("public key file %s: elliptic curve %s: want P-256, P-384 or P-521", path, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return k, eddsaAlgs, nil
	}
	return nil, nil, errors.New("public key file " + path + ": unsupported key type: want RSA, ECDSA or Ed25519")
}
