package dashboard_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
)

// authServer is server.auth with a tenant scope: accounts only, the token's
// tenant only.
const authServer = `  auth:
    mode: jwt
    jwt: {secret: "${JWT_SECRET}", audience: pgcdc}
    scope:
      tables: ["public.accounts"]
      filter: ["tenant_id=eq.{claims.tenant_id}"]
`

func tenantToken(t *testing.T, tenant int) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": fmt.Sprintf("tenant%d", tenant), "aud": "pgcdc", "tenant_id": tenant, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestDashboardAuth: with server.auth on, the page asks for a token (and
// shows the server's refusal of a bad one); with a tenant-scoped token it
// shows that tenant's rows only, the status endpoint needs the token too,
// and the token is in no URL the page requested.
func TestDashboardAuth(t *testing.T) {
	e := newEnv(t, authServer, "")
	e.exec(`INSERT INTO accounts (tenant_id, name) VALUES (7, 'seven'), (8, 'eight')`)
	b := newBrowser(t, 1280, 800)
	b.do(30*time.Second, chromedp.Navigate(e.base+"/"))
	b.wait("the token form", `!document.getElementById('login').hidden && document.getElementById('main').hidden && document.getElementById('conn').dataset.state === 'signin'`, 10*time.Second)

	submit := func(tok string) {
		b.do(10*time.Second, chromedp.SetValue(chromedp.ID("login-token"), tok), chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	}
	submit("not-a-valid-token-but-long-enough-0123456789")
	b.wait("the server's refusal", `document.getElementById('login-error').textContent.length > 0`, 10*time.Second)
	if msg := eval[string](b, `document.getElementById('login-error').textContent`); !strings.Contains(msg, "token") {
		t.Errorf("refusal shown: %q", msg)
	}

	tok := tenantToken(t, 7)
	submit(tok)
	b.wait("connected", `document.getElementById('conn').dataset.state === 'connected'`, 10*time.Second)
	if who := eval[string](b, `document.getElementById('who-text').textContent`); !strings.Contains(who, "tenant_id=eq.7") || !strings.Contains(who, "tenant7") {
		t.Errorf("scope shown: %q, want the subject and tenant_id=eq.7", who)
	}
	e.exec(`INSERT INTO accounts (tenant_id, name) SELECT 7 + i % 2, 'live' || i FROM generate_series(1, 10) i`)
	e.exec(`INSERT INTO notes (body) VALUES ('outside the scope')`)
	e.exec(`INSERT INTO items (tenant_id, name) VALUES (7, 'outside the scope')`)
	want := e.ints(`SELECT id FROM accounts WHERE tenant_id = 7 ORDER BY id`)
	b.wait("tenant 7's rows", fmt.Sprintf(`window.pgcdc.view().length >= %d`, len(want)), 10*time.Second)
	b.wait("the status panel", `document.querySelector('#health table.sinks') !== null`, 10*time.Second)
	got := b.keys("public.accounts", "insert")
	for _, id := range want {
		if !got[id] {
			t.Errorf("tenant 7's item %d is not shown", id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("shown %d items, want tenant 7's %d: %v", len(got), len(want), got)
	}
	if n := eval[int](b, `window.pgcdc.view().filter(r => r.table !== 'public.accounts').length`); n != 0 {
		t.Errorf("%d rows of other tables shown", n)
	}
	urls := eval[[]string](b, `[location.href, ...performance.getEntriesByType('resource').map(r => r.name), ...performance.getEntriesByType('navigation').map(r => r.name)]`)
	for _, u := range urls {
		if strings.Contains(u, tok) {
			t.Errorf("the token is in a URL the page used: %s", u)
		}
	}
	if s := eval[string](b, `sessionStorage.getItem('pgcdc.token')`); s != tok {
		t.Errorf("sessionStorage holds %q, want the token", s)
	}
	if l := eval[int](b, `localStorage.length + document.cookie.length`); l != 0 {
		t.Errorf("the page wrote %d characters to localStorage or cookies", l)
	}

	// Signing out forgets the token and asks again.
	b.do(10*time.Second, chromedp.Click(chromedp.ID("signout")))
	b.wait("the token form again", `!document.getElementById('login').hidden && sessionStorage.getItem('pgcdc.token') === null`, 5*time.Second)
}
