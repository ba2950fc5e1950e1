package config

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
)

// RedactedValue is what Config.Redacted puts in place of a secret.
const RedactedValue = "REDACTED"

// redactedPassword is what RedactDSN puts in place of a password.
const redactedPassword = "xxxxx"

// kvPassword matches password and sslpassword settings of a key=value DSN,
// with the value quoted ('...' with \-escapes) or not.
var kvPassword = regexp.MustCompile(`(?i)((?:^|\s)(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*(?:'|$)|(?:[^\s\\]|\\.)+)`)

// RedactDSN returns dsn with its password replaced by "xxxxx", for logs
// and messages. It handles URLs (postgres://user:pass@host/db, and the
// password and sslpassword query parameters) and key=value strings
// (password=secret, password = 'with \' quote'). When unsure where a URL's
// credentials end it hides more, never less.
func RedactDSN(dsn string) string {
	if scheme, rest, ok := strings.Cut(dsn, "://"); ok && isScheme(scheme) {
		return scheme + "://" + redactURLRest(rest)
	}
	return kvPassword.ReplaceAllStringFunc(dsn, func(m string) string {
		sub := kvPassword.FindStringSubmatch(m)
		if strings.HasPrefix(sub[2], "'") {
			return sub[1] + "'" + redactedPassword + "'"
		}
		return sub[1] + redactedPassword
	})
}

// redactURLRest redacts what follows "scheme://" in a URL DSN. The user
// info ends at the last "@" before the query (or, when the query holds
// the only "@", the last one at all: an unescaped "?" in a password).
func redactURLRest(rest string) string {
	at := -1
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		at = strings.LastIndexByte(rest[:q], '@')
	}
	if at < 0 {
		at = strings.LastIndexByte(rest, '@')
	}
	if at >= 0 {
		if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
			rest = rest[:colon+1] + redactedPassword + rest[at:]
			at = colon + 1 + len(redactedPassword)
		}
	}
	q := strings.IndexByte(rest[at+1:], '?')
	if q < 0 {
		return rest
	}
	q += at + 1
	params := strings.Split(rest[q+1:], "&")
	for i, p := range params {
		key, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		if k := strings.ToLower(key); k == "password" || k == "sslpassword" {
			params[i] = key + "=" + redactedPassword
		}
	}
	return rest[:q+1] + strings.Join(params, "&")
}

// isScheme reports whether s looks like a URL scheme.
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// Redacted returns a deep copy of c that is safe to print (`pgcdc
// validate`): the DSN's password is "xxxxx" and webhook secrets, header
// values, passwords in webhook URLs, the auth tokens and the JWT secret are
// "REDACTED". Empty values stay empty, so that the output still shows what
// is not set. Print it with yaml.Marshal from github.com/goccy/go-yaml.
func (c *Config) Redacted() *Config {
	out := deepCopy(reflect.ValueOf(c)).Interface().(*Config)
	out.Source.DSN = RedactDSN(out.Source.DSN)
	redact(&out.Server.Auth.Token)
	redact(&out.Server.Auth.JWT.Secret)
	redact(&out.Server.MetricsToken)
	for i := range out.Server.Auth.Tokens {
		redact(&out.Server.Auth.Tokens[i].Token)
	}
	for i := range out.Sinks {
		w := &out.Sinks[i].Webhook
		redact(&w.Secret)
		for k := range w.Headers {
			w.Headers[k] = RedactedValue
		}
		w.URL = redactURLPassword(w.URL)
	}
	out.redactNATS()
	return out
}

// redact replaces a non-empty secret.
func redact(s *string) {
	if *s != "" {
		*s = RedactedValue
	}
}

// redactURLPassword hides the password in an http URL's user info.
func redactURLPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return RedactedValue // unparseable with credentials: hide it all
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), RedactedValue)
		return u.String()
	}
	return raw
}

// deepCopy copies v, following pointers, slices and maps, so that the copy
// shares no memory with the original.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out.Set(deepCopy(v.Elem()).Addr())
		}
	case reflect.Struct:
		out.Set(v) // scalars; references are replaced below
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
	case reflect.Slice:
		if !v.IsNil() {
			out.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()))
			for i := range v.Len() {
				out.Index(i).Set(deepCopy(v.Index(i)))
			}
		}
	case reflect.Map:
		if !v.IsNil() {
			out.Set(reflect.MakeMapWithSize(v.Type(), v.Len()))
			iter := v.MapRange()
			for iter.Next() {
				out.SetMapIndex(deepCopy(iter.Key()), deepCopy(iter.Value()))
			}
		}
	default:
		out.Set(v)
	}
	return out
}
