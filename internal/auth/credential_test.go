package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(header, cookie, query string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/events", nil)
	r.URL.RawQuery = query
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

func TestFromRequest(t *testing.T) {
	const a, b, c = "aaaaaaaa.bbbb_cc-dd", "cookie-token-1234", "query~token+/=="
	tests := []struct {
		name                  string
		header, cookie, query string
		from                  []Source
		token                 string
		src                   Source
		reason                Reason
	}{
		{"header first", "Bearer " + a, CookieName + "=" + b, QueryParam + "=" + c, nil, a, SourceHeader, ""},
		{"scheme in any case", "bearer " + a, "", "", nil, a, SourceHeader, ""},
		{"cookie second", "", "x=1; " + CookieName + "=" + b, QueryParam + "=" + c, nil, b, SourceCookie, ""},
		{"query last", "", "other=1", "table=public.orders&" + QueryParam + "=query~token%2B/==", nil, c, SourceQuery, ""},
		{"query not wanted", "", "", QueryParam + "=" + c, []Source{SourceHeader, SourceCookie}, "", 0, ReasonMissing},
		{"header only", "", CookieName + "=" + b, "", []Source{SourceHeader}, "", 0, ReasonMissing},
		{"nothing", "", "", "table=x", nil, "", 0, ReasonMissing},
		{"basic auth", "Basic dXNlcjpwYXNz", "", QueryParam + "=" + c, nil, "", 0, ReasonMalformed},
		{"bearer without token", "Bearer", "", "", nil, "", 0, ReasonMalformed},
		{"bearer with spaces inside", "Bearer a b", "", "", nil, "", 0, ReasonMalformed},
		{"control character", "Bearer a\x01b", "", "", nil, "", 0, ReasonMalformed},
		{"two cookies", "", CookieName + "=" + b + "; " + CookieName + "=evil-cookie-value", "", nil, "", 0, ReasonMalformed},
		{"two query tokens", "", "", QueryParam + "=" + c + "&" + QueryParam + "=x", nil, "", 0, ReasonMalformed},
		{"empty query token", "", "", QueryParam + "=", nil, "", 0, ReasonMalformed},
		{"plus is a space in a query", "", "", QueryParam + "=a+b", nil, "", 0, ReasonMalformed},
		{"bad escape", "", "", QueryParam + "=%zzsecret", nil, "", 0, ReasonMalformed},
		{"padding in the middle", "Bearer ab=cd", "", "", nil, "", 0, ReasonMalformed},
		{"too long", "Bearer " + strings.Repeat("a", MaxTokenBytes+1), "", "", nil, "", 0, ReasonMalformed},
	}
	for _, tt := range tests {
		cred, err := FromRequest(request(tt.header, tt.cookie, tt.query), tt.from...)
		if tt.reason != "" {
			checkRefusal(t, tt.name, err, tt.reason, "dXNlcjpwYXNz", "evil-cookie-value", "zzsecret", "a\x01b")
			continue
		}
		if err != nil || cred.Token != tt.token || cred.Source != tt.src {
			t.Errorf("%s: got %q from %s, %v; want %q from %s", tt.name, cred.Token, cred.Source, err, tt.token, tt.src)
		}
		if strings.Contains(cred.String(), cred.Token) {
			t.Errorf("%s: String shows the token", tt.name)
		}
	}
	// Two Authorization headers.
	r := request("", "", "")
	r.Header.Add("Authorization", "Bearer "+a)
	r.Header.Add("Authorization", "Bearer "+b)
	_, err := FromRequest(r)
	checkRefusal(t, "two Authorization headers", err, ReasonMalformed, a, b)
}

func TestRedactQuery(t *testing.T) {
	for in, want := range map[string]string{
		"table=public.orders&access_token=s3cret&op=insert": "table=public.orders&access_token=REDACTED&op=insert",
		"access%5Ftoken=s3cret":                             "access%5Ftoken=REDACTED",
		"table=x":                                           "table=x",
		"access_token":                                      "access_token",
		"bad%zz_token=s3cret":                               "bad%zz_token=REDACTED",
	} {
		if got := RedactQuery(in); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAuthMessage(t *testing.T) {
	c, err := ParseAuthMessage([]byte(` {"token":"abc.def","type":"auth"} `))
	if err != nil || c.Token != "abc.def" || c.Source != SourceMessage {
		t.Fatalf("got %v, %v", c, err)
	}
	_, err = ParseAuthMessage([]byte(`{"type":"subscribe","id":"s1"}`))
	if !errors.Is(err, ErrNotAuthMessage) {
		t.Errorf("a subscribe message: %v, want ErrNotAuthMessage", err)
	}
	for msg, want := range map[string]Reason{
		`{"type":"subscribe","id":"s1","table":["x"]}`:   ReasonMissing, // not an auth message
		`{"type":"subscribe"}`:                           ReasonMissing,
		`{"type":"auth"}`:                                ReasonMalformed,
		`{"type":"auth","token":"s3cret-x","x":1}`:       ReasonMalformed,
		`{"type":"auth","token":"s3cret-x","token":"b"}`: ReasonMalformed,
		`{"type":"auth","token":"s3cret-x"} {}`:          ReasonMalformed,
		`{"type":"auth","token":7}`:                      ReasonMalformed,
		`{"type":"auth","token":"s3cret x"}`:             ReasonMalformed,
		`["auth","s3cret-x"]`:                            ReasonMalformed,
		`{"type":"auth","token":"s3cret-x"`:              ReasonMalformed,
		``:                                               ReasonMalformed,
		`{"type":"auth","token":"` + strings.Repeat("a", MaxAuthMessageBytes) + `"}`: ReasonMalformed,
	} {
		_, err := ParseAuthMessage([]byte(msg))
		checkRefusal(t, msg[:min(len(msg), 40)], err, want, "s3cret")
	}
}
