package ws

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
)

const testSecret = "ws-test-secret-0123456789abcdefghijklmnop"

// newAuthSink is a sink whose gate verifies HS256 tokens, with short
// auth timeouts.
func newAuthSink(t *testing.T) *httptest.Server {
	t.Helper()
	a, err := auth.New(t.Context(), auth.Config{Mode: auth.MethodJWT, JWT: auth.JWTConfig{Secret: testSecret}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("ws", config.Broadcast{})
	if cfg.Gate, err = live.NewGate(nil, live.NewAuthorizer(a)); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, hubtest.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.authTimeout, s.reauthGrace = 300*time.Millisecond, 300*time.Millisecond
	srv := httptest.NewServer(s)
	hubtest.Run(t, t.Context(), s)
	t.Cleanup(srv.Close)
	return srv
}

func testToken(t *testing.T, ttl time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "t", "exp": time.Now().Add(ttl).Unix()}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// closeCode reads until the connection closes and returns its close
// code and reason.
func closeCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

// TestAuthTimeouts: no auth message in time, a bad token, and no new
// token within the grace after auth_expired each close with 4001; the
// bad token is answered with an error naming its reason first.
func TestAuthTimeouts(t *testing.T) {
	srv := newAuthSink(t)
	silent := dial(t, srv, "?table=orders")
	if code, text := closeCode(t, silent.c); code != CloseUnauthorized || !strings.Contains(text, "missing_token") {
		t.Errorf("no auth message: %d %q, want 4001 missing_token", code, text)
	}
	bad := dial(t, srv, "")
	bad.send(map[string]string{"type": "auth", "token": "x.y.z"})
	if m := bad.read(); m.Type != "error" || len(m.Errors) != 1 || m.Errors[0].Param != "auth" || strings.Contains(m.Message, "x.y.z") {
		t.Errorf("bad token: %+v", m)
	}
	if code, text := closeCode(t, bad.c); code != CloseUnauthorized || text != "malformed_token" {
		t.Errorf("bad token: close %d %q, want 4001 malformed_token", code, text)
	}
	// A handshake with the token, which expires: auth_expired, then 4001
	// when no new token comes within the grace.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(wsURL(srv, "?table=orders"), http.Header{"Authorization": {"Bearer " + testToken(t, 2*time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ec := &client{t: t, c: c}
	ec.expect("subscribed", "default")
	if m := ec.read(); m.Type != "auth_expired" {
		t.Fatalf("got %+v, want auth_expired", m)
	}
	if code, text := closeCode(t, c); code != CloseUnauthorized || !strings.Contains(text, "auth_expired") {
		t.Errorf("no new token: %d %q, want 4001 auth_expired", code, text)
	}
}

// TestAuthMessageWithoutAuth: with authentication off, an auth message is
// answered authenticated and the connection goes on.
func TestAuthMessageWithoutAuth(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{})
	c := dial(t, srv, "")
	c.send(map[string]string{"type": "auth", "token": "anything"})
	if m := c.read(); m.Type != "authenticated" {
		t.Fatalf("got %+v, want authenticated", m)
	}
	c.subscribe("s", nil)
}
