package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector (from its
// reference libraries' tests).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func vectorHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, fmt.Sprint(vectorTimestamp))
	h.Set(HeaderSignature, sig)
	return h
}

func TestSignTestVector(t *testing.T) {
	key, err := ParseKey(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := key.Sign(vectorID, vectorTimestamp, []byte(vectorPayload)); got != vectorSignature {
		t.Fatalf("Sign = %s, want the specification's %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	key, _ := ParseKey(vectorSecret)
	at := time.Unix(vectorTimestamp, 0)
	other := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	tests := []struct {
		name      string
		header    http.Header
		body      string
		now       time.Time
		tolerance time.Duration
		ok        bool
	}{
		{"vector", vectorHeader(vectorSignature), vectorPayload, at, 5 * time.Minute, true},
		{"several signatures, one valid", vectorHeader(other + " v1a,xyz " + vectorSignature), vectorPayload, at, 5 * time.Minute, true},
		{"no tolerance check", vectorHeader(vectorSignature), vectorPayload, at.Add(24 * time.Hour), 0, true},
		{"wrong signature", vectorHeader(other), vectorPayload, at, 5 * time.Minute, false},
		{"tampered body", vectorHeader(vectorSignature), `{"test": 2432232315}`, at, 5 * time.Minute, false},
		{"too old", vectorHeader(vectorSignature), vectorPayload, at.Add(5*time.Minute + time.Second), 5 * time.Minute, false},
		{"too new", vectorHeader(vectorSignature), vectorPayload, at.Add(-5*time.Minute - time.Second), 5 * time.Minute, false},
		{"v2 only", vectorHeader(strings.Replace(vectorSignature, "v1,", "v2,", 1)), vectorPayload, at, 0, false},
		{"missing id", func() http.Header { h := vectorHeader(vectorSignature); h.Del(HeaderID); return h }(), vectorPayload, at, 0, false},
		{"bad timestamp", func() http.Header { h := vectorHeader(vectorSignature); h.Set(HeaderTimestamp, "x"); return h }(), vectorPayload, at, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := key.Verify(tt.header, []byte(tt.body), tt.now, tt.tolerance)
			if tt.ok != (err == nil) {
				t.Fatalf("Verify = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v does not wrap ErrSignature", err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		secret string
		want   string // the key bytes, or "" for an error
	}{
		{"whsec_c2VjcmV0", "secret"},
		{"whsec_c2VjcmV0MQ", "secret1"}, // unpadded base64
		{"whsec_c2VjcmV0MQ==", "secret1"},
		{"raw secret value", "raw secret value"},
		{"whsec_not base64!", ""},
		{"whsec_", ""},
		{"", ""},
	}
	for _, tt := range tests {
		key, err := ParseKey(tt.secret)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseKey(%q) accepted", tt.secret)
		case tt.want != "" && (err != nil || string(key.b) != tt.want):
			t.Errorf("ParseKey(%q) = %q, %v; want %q", tt.secret, key.b, err, tt.want)
		}
		if rest := strings.TrimPrefix(tt.secret, "whsec_"); err != nil && rest != "" && strings.Contains(err.Error(), rest) {
			t.Errorf("ParseKey(%q) error %q quotes the secret", tt.secret, err)
		}
	}
	key, _ := ParseKey("whsec_c2VjcmV0")
	if s := fmt.Sprintf("%v %s %+v", key, key, key); strings.Contains(s, "secret") || strings.Contains(s, "115") {
		t.Errorf("formatting a Key reveals it: %s", s)
	}
}
