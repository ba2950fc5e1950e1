package auth

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Source says where a credential came from.
type Source uint8

// The credential sources, in the order FromRequest looks at them
// (ARCHITECTURE §9): the Authorization header, the HttpOnly cookie, a
// WebSocket's first message, and last the query parameter that
// EventSource needs because it cannot set headers.
const (
	SourceHeader  Source = iota + 1 // Authorization: Bearer <token>
	SourceCookie                    // Cookie: pgcdc_token=<token>
	SourceMessage                   // WebSocket {"type":"auth","token":"..."}
	SourceQuery                     // ?access_token=<token>
)

// String returns "header", "cookie", "message" or "query".
func (s Source) String() string {
	switch s {
	case SourceHeader:
		return "header"
	case SourceCookie:
		return "cookie"
	case SourceMessage:
		return "message"
	case SourceQuery:
		return "query"
	}
	return "none"
}

const (
	// CookieName is the cookie a browser app may carry the token in.
	CookieName = "pgcdc_token"
	// QueryParam is the query parameter of last resort. Its value is a
	// secret: log request URLs only through RedactQuery.
	QueryParam = "access_token"
	// MaxTokenBytes bounds a credential; a longer one is malformed.
	MaxTokenBytes = 8 << 10
)

// Credential is a presented token and where it was found. Its String and
// LogValue never show the token.
type Credential struct {
	Token  string
	Source Source
}

// String returns "credential from <source>".
func (c Credential) String() string { return "credential from " + c.Source.String() }

// LogValue implements slog.LogValuer: only the source is logged.
func (c Credential) LogValue() slog.Value { return slog.StringValue(c.Source.String()) }

// FromRequest returns the request's credential, looking in the
// Authorization header, the pgcdc_token cookie and the access_token query
// parameter, in that order, and reporting which it used; the first place
// that holds one wins. from restricts the places looked at (none: all
// three; the order stays the same); SourceMessage is not a place of a
// request and is ignored. A place that holds something that is not one
// bearer token (another Authorization scheme, two cookies of that name,
// two access_token parameters, a value outside RFC 6750's token
// characters or longer than MaxTokenBytes) is an Error with
// ReasonMalformed, whatever the later places hold: an ambiguous request is
// refused, not guessed at. No credential anywhere is ReasonMissing. The
// WebSocket transport asks for the header and the cookie first, then waits
// for the auth message (ParseAuthMessage) when there is no access_token
// either.
func FromRequest(r *http.Request, from ...Source) (Credential, error) {
	want := func(s Source) bool {
		if len(from) == 0 {
			return true
		}
		for _, f := range from {
			if f == s {
				return true
			}
		}
		return false
	}
	if want(SourceHeader) {
		if vals := r.Header.Values("Authorization"); len(vals) > 0 {
			if len(vals) > 1 {
				return Credential{}, newError(ReasonMalformed, "more than one Authorization header: send one, Authorization: Bearer <token>")
			}
			scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return Credential{}, newError(ReasonMalformed, `the Authorization header is not a bearer token: want "Authorization: Bearer <token>"`)
			}
			return checked(strings.TrimLeft(tok, " "), SourceHeader)
		}
	}
	if want(SourceCookie) {
		var found []string
		for _, c := range r.CookiesNamed(CookieName) {
			found = append(found, c.Value)
		}
		if len(found) > 0 {
			return single(found, SourceCookie, "more than one "+CookieName+" cookie: a cookie set for a parent domain may shadow yours; clear them and sign in again")
		}
	}
	if want(SourceQuery) {
		vals, err := queryValues(r.URL.RawQuery, QueryParam)
		if err != nil {
			return Credential{}, err
		}
		if len(vals) > 0 {
			return single(vals, SourceQuery, "more than one "+QueryParam+" parameter: send one")
		}
	}
	return Credential{}, newError(ReasonMissing, "no credential: send Authorization: Bearer <token>, the "+CookieName+" cookie, or (EventSource) a ticket in ?"+QueryParam+"=")
}

// single returns the credential of the one value found in a place, and
// refuses several (ambiguous: which one did the client mean?).
func single(vals []string, src Source, several string) (Credential, error) {
	if len(vals) > 1 {
		return Credential{}, newError(ReasonMalformed, several)
	}
	return checked(vals[0], src)
}

// queryValues returns every value of the parameter name in the raw query,
// without echoing any part of the query in its error.
func queryValues(raw, name string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || key != name {
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, newError(ReasonMalformed, "the "+name+" parameter is not valid URL encoding")
		}
		out = append(out, val)
	}
	return out, nil
}

// checked returns the credential if tok is one RFC 6750 b64token (ALPHA,
// DIGIT, "-._~+/" and trailing "=") of at most MaxTokenBytes.
func checked(tok string, src Source) (Credential, error) {
	if !validToken(tok) {
		return Credential{}, newError(ReasonMalformed, "the "+src.String()+" credential is not a bearer token: want 1 to 8192 of A-Z a-z 0-9 - . _ ~ + / followed by optional =")
	}
	return Credential{Token: tok, Source: src}, nil
}

func validToken(tok string) bool {
	if tok == "" || len(tok) > MaxTokenBytes {
		return false
	}
	i := 0
	for ; i < len(tok); i++ {
		c := tok[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(tok); i++ {
		if tok[i] != '=' {
			return false
		}
	}
	return true
}

// RedactQuery returns the raw query with every access_token value
// replaced by REDACTED, for access logs and error messages that show a
// request's URL.
func RedactQuery(raw string) string {
	if !strings.Contains(raw, "=") {
		return raw
	}
	parts := strings.Split(raw, "&")
	changed := false
	for i, part := range parts {
		k, _, _ := strings.Cut(part, "=")
		if key, err := url.QueryUnescape(k); err == nil && key == QueryParam || err != nil && strings.Contains(strings.ToLower(k), "token") {
			parts[i] = k + "=REDACTED"
			changed = true
		}
	}
	if !changed {
		return raw
	}
	return strings.Join(parts, "&")
}
