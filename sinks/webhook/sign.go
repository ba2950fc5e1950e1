package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a base64-encoded Standard Webhooks secret.
const secretPrefix = "whsec_"

// Key is a Standard Webhooks HMAC-SHA256 signing key. Its String and
// LogValue methods never reveal it. The zero Key signs nothing.
type Key struct {
	b []byte
}

// ParseKey decodes a configured secret. A secret starting with "whsec_" is
// the specification's form: the rest is the key in standard base64 (padded
// or not). Any other secret is used as raw bytes (its UTF-8 encoding); a
// receiver using a reference library then needs "whsec_" + base64(secret),
// or the library's raw-key option. Errors never quote the secret.
func ParseKey(secret string) (Key, error) {
	if rest, ok := strings.CutPrefix(secret, secretPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(rest)
		}
		if err != nil {
			return Key{}, errors.New("the part after whsec_ is not valid base64")
		}
		if len(b) == 0 {
			return Key{}, errors.New("the key after whsec_ is empty")
		}
		return Key{b: b}, nil
	}
	if secret == "" {
		return Key{}, errors.New("is empty")
	}
	return Key{b: []byte(secret)}, nil
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return len(k.b) == 0 }

// Len returns the key length in bytes.
func (k Key) Len() int { return len(k.b) }

// String implements fmt.Stringer without revealing the key.
func (k Key) String() string { return "[redacted]" }

// LogValue implements slog.LogValuer without revealing the key.
func (k Key) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256>" over
// "id.timestamp.body", timestamp being Unix seconds.
func (k Key) Sign(id string, timestamp int64, body []byte) string {
	return string(k.appendSignature(make([]byte, 0, 48), id, timestamp, body))
}

func (k Key) appendSignature(dst []byte, id string, timestamp int64, body []byte) []byte {
	var sum [sha256.Size]byte
	k.mac(sum[:0], id, timestamp, body)
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

func (k Key) mac(dst []byte, id string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, k.b)
	var ts [20]byte
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(dst)
}

// ErrSignature reports a request whose Standard Webhooks signature does not
// verify.
var ErrSignature = errors.New("webhook signature does not verify")

// Verify checks the Standard Webhooks headers of a received request against
// its raw body: one of the space-separated "v1,<base64>" signatures must be
// the HMAC of "id.timestamp.body", compared in constant time. When
// tolerance is positive the timestamp must also lie within tolerance of
// now (the specification suggests 5 minutes), which defeats replays.
// Errors wrap ErrSignature.
func (k Key) Verify(h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if k.IsZero() {
		return fmt.Errorf("%w: no key", ErrSignature)
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing %s, %s or %s header", ErrSignature, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not an integer", ErrSignature, HeaderTimestamp)
	}
	if tolerance > 0 {
		at := time.Unix(ts, 0)
		if d := now.Sub(at); d > tolerance || d < -tolerance {
			return fmt.Errorf("%w: timestamp %d is more than %s away from now", ErrSignature, ts, tolerance)
		}
	}
	var want [sha256.Size]byte
	k.mac(want[:0], id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want[:]) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}
