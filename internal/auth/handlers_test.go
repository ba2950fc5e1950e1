package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pgcdc/pgcdc/pipeline"
)

// TestHandlers exercises POST /api/ticket and GET /api/whoami over a real
// loopback server.
func TestHandlers(t *testing.T) {
	a := jwtAuthenticator(t)
	cat := pipeline.StaticCatalog{{Schema: "public", Table: "orders"}, {Schema: "public", Table: "users"}}
	mux := http.NewServeMux()
	mux.Handle("/api/ticket", a.TicketHandler())
	mux.Handle("/api/whoami", a.WhoamiHandler(func() pipeline.Catalog { return cat }))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", good())

	do := func(method, path, bearer string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, body, err)
		}
		if strings.Contains(string(body), tok) || strings.Contains(string(body), testSecret) {
			t.Fatalf("%s %s: the body shows a secret: %s", method, path, body)
		}
		return resp, m
	}

	resp, m := do(http.MethodPost, "/api/ticket", tok)
	ticket, _ := m["ticket"].(string)
	if resp.StatusCode != 200 || !IsTicket(ticket) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("ticket: %d %v", resp.StatusCode, m)
	}
	resp, m = do(http.MethodGet, "/api/whoami?"+QueryParam+"="+url.QueryEscape(ticket), "")
	if resp.StatusCode != 200 || m["subject"] != "alice" || m["ticket"] != true || m["source"] != "query" {
		t.Fatalf("whoami with the ticket: %d %v", resp.StatusCode, m)
	}
	if f := m["filters"].([]any); len(f) != 1 || f[0] != "tenant_id=eq.7" {
		t.Errorf("whoami filters %v", f)
	}
	if tables := m["tables"].([]any); len(tables) != 1 || tables[0] != "public.orders" {
		t.Errorf("whoami tables %v", tables)
	}
	resp, m = do(http.MethodGet, "/api/whoami", "")
	if resp.StatusCode != 401 || m["error"] != string(ReasonMissing) || resp.Header.Get("WWW-Authenticate") != `Bearer realm="pgcdc"` {
		t.Errorf("whoami without a token: %d %v %q", resp.StatusCode, m, resp.Header.Get("WWW-Authenticate"))
	}
	expired := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", with(good(), "exp", 1))
	resp, m = do(http.MethodGet, "/api/whoami", expired)
	if resp.StatusCode != 401 || m["error"] != string(ReasonExpired) || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("whoami with an expired token: %d %v", resp.StatusCode, m)
	}
	if resp, _ := do(http.MethodGet, "/api/ticket", tok); resp.StatusCode != 405 {
		t.Errorf("GET /api/ticket: %d", resp.StatusCode)
	}
}
