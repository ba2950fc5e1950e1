package httpserver_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live/livetest"
)

// jwtKit holds the keys of a JWKS-configured server and mints tokens.
type jwtKit struct {
	key, other *rsa.PrivateKey
	jwks       string // file
	pubPEM     []byte
}

func newJWTKit(t *testing.T) *jwtKit {
	t.Helper()
	k := &jwtKit{}
	var err error
	if k.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	pub := &k.key.PublicKey
	b64 := base64.RawURLEncoding.EncodeToString
	set := map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}}}
	body, _ := json.Marshal(set)
	k.jwks = filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(k.jwks, body, 0o600); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	k.pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return k
}

// server returns the server config: jwt from the key set, the orders
// table only, rows whose status is the token's status claim, without the
// note column.
func (k *jwtKit) server() config.Server {
	return config.Server{Auth: config.Auth{Mode: config.AuthJWT,
		JWT: config.JWT{JWKSFile: k.jwks, Audience: "pgcdc", Issuer: "https://issuer.test"},
		Scope: config.AuthScope{Tables: []string{"public.orders"}, Filter: []string{"status=eq.{claims.status}"},
			Columns: map[string]config.ColumnRule{"public.orders": {Exclude: []string{"note"}}}},
	}}
}

func (k *jwtKit) claims(status string, ttl time.Duration) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": "user-" + status, "status": status, "aud": "pgcdc", "iss": "https://issuer.test",
		"iat": now.Unix(), "exp": now.Add(ttl).Unix()}
}

func (k *jwtKit) sign(t *testing.T, c jwt.MapClaims, mutate ...func(*jwt.Token)) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = "k1"
	for _, m := range mutate {
		m(tok)
	}
	s, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (k *jwtKit) token(t *testing.T, status string, ttl time.Duration) string {
	return k.sign(t, k.claims(status, ttl))
}

// badTokens are the tokens every endpoint must refuse, by the reason its
// 401 must name.
func (k *jwtKit) badTokens(t *testing.T) map[string]string {
	t.Helper()
	c := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		m := k.claims("new", time.Hour)
		edit(m)
		return m
	}
	signWith := func(key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, k.claims("new", time.Hour)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hsConfused := jwt.NewWithClaims(jwt.SigningMethodHS256, k.claims("new", time.Hour))
	hsConfused.Header["kid"] = "k1"
	confused, err := hsConfused.SignedString(k.pubPEM) // the public key as an HMAC secret
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"malformed_token":       "not-a-jwt",
		"token_expired":         k.sign(t, c(func(m jwt.MapClaims) { m["exp"] = time.Now().Add(-time.Hour).Unix() })),
		"token_not_yet_valid":   k.sign(t, c(func(m jwt.MapClaims) { m["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"wrong_audience":        k.sign(t, c(func(m jwt.MapClaims) { m["aud"] = "someone-else" })),
		"wrong_issuer":          k.sign(t, c(func(m jwt.MapClaims) { m["iss"] = "https://evil.test" })),
		"bad_signature":         signWith(k.other, "k1", k.claims("new", time.Hour)),
		"unknown_key":           signWith(k.other, "k2", k.claims("new", time.Hour)),
		"algorithm_not_allowed": none,
		"algorithm_not_allowed (HS256 with the public key)": confused,
		"invalid_claims": k.sign(t, c(func(m jwt.MapClaims) { delete(m, "status") })),
	}
}

// TestAuthRefusals: every bad token gets 401 with its reason, a
// WWW-Authenticate header and a body that holds neither the token nor
// any key, on every endpoint: SSE, WebSocket (the handshake), /api/changes,
// /api/whoami and /api/ticket. No token at all: 401 missing_token
// (a WebSocket upgrades and waits for its auth message instead).
func TestAuthRefusals(t *testing.T) {
	k := newJWTKit(t)
	st := newStack(t, k.server(), nil)
	wsBase := "ws" + strings.TrimPrefix(st.base, "http")
	type answer struct {
		code   int
		body   string
		header http.Header
	}
	httpDo := func(method, path, tok string) answer {
		req, _ := http.NewRequest(method, st.base+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Type") == "text/event-stream" {
			return answer{resp.StatusCode, "", resp.Header} // a stream: it does not end
		}
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b), resp.Header}
	}
	endpoints := map[string]func(tok string) answer{
		"sse":     func(tok string) answer { return httpDo("GET", "/events", tok) },
		"changes": func(tok string) answer { return httpDo("GET", "/api/changes", tok) },
		"whoami":  func(tok string) answer { return httpDo("GET", "/api/whoami", tok) },
		"ticket":  func(tok string) answer { return httpDo("POST", "/api/ticket", tok) },
		"websocket": func(tok string) answer {
			h := http.Header{"Authorization": {"Bearer " + tok}}
			c, resp, err := websocket.DefaultDialer.Dial(wsBase+"/ws", h)
			if err == nil {
				c.Close()
				return answer{code: 101}
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return answer{resp.StatusCode, string(b), resp.Header}
		},
	}
	for want, tok := range k.badTokens(t) {
		reason, _, _ := strings.Cut(want, " ")
		for name, do := range endpoints {
			a := do(tok)
			if a.code != 401 || !strings.Contains(a.body, `"`+reason+`"`) || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %s: %d %s %v", name, want, a.code, a.body, a.header)
			}
			if strings.Contains(a.body, tok) || strings.Contains(a.body, "BEGIN") {
				t.Errorf("%s with %s: the body echoes the token or a key: %s", name, want, a.body)
			}
		}
	}
	for _, name := range []string{"sse", "changes", "whoami", "ticket"} {
		if a := endpoints[name](""); a.code != 401 || !strings.Contains(a.body, "missing_token") || a.header.Get("WWW-Authenticate") != `Bearer realm="pgcdc"` {
			t.Errorf("%s without a token: %d %s %v", name, a.code, a.body, a.header)
		}
	}
	// A token in the query string works where a header cannot be set, and
	// the good token opens every endpoint.
	good := k.token(t, "paid", time.Hour)
	for name, do := range endpoints {
		if a := do(good); a.code != 200 && a.code != 101 {
			t.Errorf("%s with a good token: %d %s", name, a.code, a.body)
		}
	}
	// The cookie works in place of the header; the access_token
	// parameter too (a ticket is better there, see TestAuthScopedStreams).
	req, _ := http.NewRequest("GET", st.base+"/api/whoami", nil)
	req.AddCookie(&http.Cookie{Name: "pgcdc_token", Value: good})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("whoami with the cookie: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if a := httpDo("GET", "/api/changes?access_token="+good, ""); a.code != 200 {
		t.Errorf("changes with access_token: %d %s", a.code, a.body)
	}
	// A table the scope does not allow: 403 naming it.
	if a := httpDo("GET", "/events?table=public.users", good); a.code != 403 || !strings.Contains(a.body, `public.users`) || !strings.Contains(a.body, "forbidden") {
		t.Errorf("sse for public.users: %d %s", a.code, a.body)
	}
	if a := httpDo("GET", "/api/changes?table=public.users", good); a.code != 403 {
		t.Errorf("changes for public.users: %d %s", a.code, a.body)
	}
	// whoami shows the effective scope with the claim bound in.
	a := httpDo("GET", "/api/whoami", good)
	var who struct {
		Subject string
		Filters []string
		Tables  []string
	}
	if err := json.Unmarshal([]byte(a.body), &who); err != nil || who.Subject != "user-paid" || len(who.Filters) != 1 ||
		!strings.Contains(who.Filters[0], "paid") || len(who.Tables) != 1 || who.Tables[0] != "public.orders" {
		t.Errorf("whoami: %s", a.body)
	}
}

// TestAuthScopedStreams: a client sees only its scope's rows, never the
// denied column, over SSE (header, ticket in the query), a resumed SSE
// stream, WebSocket and /api/changes.
func TestAuthScopedStreams(t *testing.T) {
	k := newJWTKit(t)
	st := newStack(t, k.server(), nil)
	var g hubtest.Gen
	var evs []*pipeline.Event
	for i := range 20 {
		status := "paid"
		if i%2 == 1 {
			status = "new"
		}
		evs = append(evs, hubtest.Order(g.Next(), 0, pipeline.OpInsert, i, status, i))
	}
	evs = append(evs, hubtest.User(g.Next(), 0, 1, "ann"))
	paid := k.token(t, "paid", time.Hour)
	check := func(what, data string) {
		t.Helper()
		if !strings.Contains(data, `"status":"paid"`) || strings.Contains(data, `"note"`) || strings.Contains(data, `"users"`) {
			t.Errorf("%s: out of scope: %s", what, data)
		}
	}

	// A ticket in the query, for EventSource.
	req, _ := http.NewRequest("POST", st.base+"/api/ticket", nil)
	req.Header.Set("Authorization", "Bearer "+paid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ticket struct{ Ticket string }
	json.NewDecoder(resp.Body).Decode(&ticket)
	resp.Body.Close()
	sse := openStream(t, st.base+"/events?access_token="+ticket.Ticket, "")
	wc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(st.base, "http")+"/ws?table=orders", http.Header{"Authorization": {"Bearer " + paid}})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, b, err := wc.ReadMessage(); err != nil || !strings.Contains(string(b), "subscribed") {
		t.Fatalf("ws: %s %v", b, err)
	}
	st.send(evs...)
	var ids []string
	for range 10 {
		_, id, data := sse.next(t)
		check("sse", data)
		ids = append(ids, id)
	}
	for range 10 {
		_, b, err := wc.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		check("ws", string(b))
	}
	// The ticket was used: it cannot open a second stream.
	if a, b := getWith(t, st.base+"/events?access_token="+ticket.Ticket, ""); a != 401 || !strings.Contains(b, "invalid_ticket") {
		t.Errorf("a ticket used twice: %d %s", a, b)
	}
	// Resume from the third id with the token of the other scope: the
	// replay is judged with the token presented now.
	other := k.token(t, "new", time.Hour)
	res := openStream(t, st.base+"/events", ids[2], "Authorization", "Bearer "+other)
	more := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 100, "new", 1)
	st.send(more)
	n := 0
	for {
		_, id, data := res.next(t)
		if !strings.Contains(data, `"status":"new"`) || strings.Contains(data, `"note"`) {
			t.Fatalf("resumed stream: out of scope: %s", data)
		}
		n++
		if id == more.ID() {
			break
		}
	}
	if n != 9 { // orders 5, 7, ..., 19 after the third paid one (4), then 100
		t.Errorf("resumed stream: %d events, want 9", n)
	}
	code, body := getWith(t, st.base+"/api/changes?limit=1000", paid)
	var page struct{ Events []json.RawMessage }
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Events) != 10 {
		t.Fatalf("/api/changes: %d %d events %v", code, len(page.Events), err)
	}
	for _, e := range page.Events {
		check("changes", string(e))
	}
}

// TestAuthExpiry: an SSE stream ends with event: auth_expired before its
// token expires; a WebSocket that sends a new token of the same scope
// stays open and keeps receiving, and one that sends a token of another
// scope is closed with 4003.
func TestAuthExpiry(t *testing.T) {
	k := newJWTKit(t)
	st := newStack(t, k.server(), nil)
	short := k.token(t, "paid", 2*time.Second)
	sse := openStream(t, st.base+"/events", "", "Authorization", "Bearer "+short)
	start := time.Now()
	if ev, _, data := sse.next(t); ev != "auth_expired" || !strings.Contains(data, "auth_expired") {
		t.Fatalf("sse: %q %s", ev, data)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("auth_expired after %s, want before the token's exp (2s)", el)
	}
	if _, err := sse.r.ReadString('\n'); err != io.EOF {
		t.Errorf("sse after auth_expired: %v, want the end of the stream", err)
	}

	// WebSocket: the first message authenticates (no credential in the
	// handshake).
	wc, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(st.base, "http")+"/ws?table=orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wc.SetReadDeadline(time.Now().Add(20 * time.Second))
	read := func() map[string]any {
		t.Helper()
		var m map[string]any
		if err := wc.ReadJSON(&m); err != nil {
			t.Fatalf("ws read: %v", err)
		}
		return m
	}
	wc.WriteJSON(map[string]string{"type": "auth", "token": k.token(t, "paid", 2*time.Second)})
	if m := read(); m["type"] != "authenticated" {
		t.Fatalf("ws auth: %v", m)
	}
	if m := read(); m["type"] != "subscribed" {
		t.Fatalf("ws: %v", m)
	}
	if m := read(); m["type"] != "auth_expired" {
		t.Fatalf("ws: %v, want auth_expired", m)
	}
	var g hubtest.Gen
	held := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "paid", 1)
	st.send(held) // published while the connection waits for its new token
	wc.WriteJSON(map[string]string{"type": "auth", "token": k.token(t, "paid", 2*time.Second)})
	if m := read(); m["type"] != "authenticated" {
		t.Fatalf("ws re-auth: %v", m)
	}
	if m := read(); m["type"] != "event" || !strings.Contains(jsonString(m), held.ID()) {
		t.Fatalf("ws after re-auth: %v, want the event published meanwhile", m)
	}
	if m := read(); m["type"] != "auth_expired" {
		t.Fatalf("ws: %v, want auth_expired", m)
	}
	wc.WriteJSON(map[string]string{"type": "auth", "token": k.token(t, "new", time.Hour)})
	_, _, err = wc.ReadMessage()
	var ce *websocket.CloseError
	if !errorsAs(err, &ce) || ce.Code != 4003 {
		t.Fatalf("ws re-auth with another scope: %v, want close 4003", err)
	}

	// A subscribe before the auth message is refused: 4001.
	wc2, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(st.base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc2.Close()
	wc2.SetReadDeadline(time.Now().Add(10 * time.Second))
	wc2.WriteJSON(map[string]any{"type": "subscribe", "id": "s"})
	for {
		if _, _, err = wc2.ReadMessage(); err != nil {
			break
		}
	}
	if !errorsAs(err, &ce) || ce.Code != 4001 {
		t.Fatalf("subscribe before auth: %v, want close 4001", err)
	}
}

type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

// openStream opens an SSE stream with optional header name/value pairs.
func openStream(t *testing.T, url, lastID string, header ...string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{resp: resp, r: bufio.NewReader(resp.Body)}
}

var streamClient = &http.Client{Timeout: 20 * time.Second}

func (s *stream) next(t *testing.T) (event, id, data string) {
	t.Helper()
	return livetest.NextSSE(t, s.r)
}

func getWith(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
