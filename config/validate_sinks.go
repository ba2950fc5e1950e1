package config

import (
	"encoding/base64"
	"errors"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// sinkName is what a sink may be called: it appears in metrics labels,
// logs and PGCDC_SINKS_<NAME>_* overrides.
var sinkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// reservedPaths are served by the HTTP server itself.
var reservedPaths = []string{"/healthz", "/readyz", "/metrics", "/api/changes", "/api/status", "/api/ticket", "/api/whoami"}

// reservedHeaders are set by the webhook sink and cannot be configured.
var reservedHeaders = []string{
	"webhook-id", "webhook-timestamp", "webhook-signature",
	"content-type", "content-length", "transfer-encoding", "host",
}

// typeFields lists, per sink type, the keys of the inline Broadcast and
// Webhook structs that belong to it; a non-zero value in any other is a
// problem.
var typeFields = map[string][]string{
	TypeStdout: nil,
	TypeSSE: {"path", "replay", "client_buffer", "allowed_origins", "heartbeat",
		"write_timeout", "client_retry", "event_names"},
	TypeWebSocket: {"path", "replay", "client_buffer", "allowed_origins", "heartbeat",
		"write_timeout", "max_message_bytes"},
	TypeWebhook: {"url", "headers", "timeout", "tls", "secret", "format", "batch",
		"retry", "dead_letter"},
	TypeNATS: {"url", "tls", "subject", "stream", "max_inflight", "creds_file", "nkey_file", "user", "password", "token"},
}

func (c *Config) validateSinks(errs *errorList, required bool) {
	if len(c.Sinks) == 0 && required {
		errs.add("sinks", "required: at least one sink (type %s, %s, %s, %s or %s)", TypeStdout, TypeSSE, TypeWebSocket, TypeWebhook, TypeNATS)
		return
	}
	perType := map[string]int{}
	for _, k := range c.Sinks {
		perType[k.Type]++
	}
	names := map[string]int{}
	paths := map[string]int{}
	for i := range c.Sinks {
		k := &c.Sinks[i]
		path := index("sinks", i)
		_, known := typeFields[k.Type]
		switch {
		case k.Type == "":
			errs.add(path+".type", "required: one of %s, %s, %s, %s, %s", TypeStdout, TypeSSE, TypeWebSocket, TypeWebhook, TypeNATS)
		case !known:
			errs.add(path+".type", "unknown sink type %s: want one of %s, %s, %s, %s, %s", quoteValue(k.Type), TypeStdout, TypeSSE, TypeWebSocket, TypeWebhook, TypeNATS)
		}

		switch {
		case k.Name == "" && known && perType[k.Type] > 1:
			errs.add(path+".name", "required when several sinks have type %q", k.Type)
		case k.Name == "":
			if known {
				errs.add(path+".name", "required")
			}
		case !sinkName.MatchString(k.Name):
			errs.add(path+".name", "invalid name %s: want up to 63 letters, digits, _ or -, starting with a letter or digit", quoteValue(k.Name))
		default:
			if j, dup := names[k.Name]; dup {
				errs.add(path+".name", "duplicate sink name %q (also sinks[%d])", k.Name, j)
			} else {
				names[k.Name] = i
			}
		}

		if k.Filter != nil {
			validateFilter(errs, path+".filter", k.Filter)
		}
		if k.Project != nil {
			validateProject(errs, path+".project", k.Project)
		}
		if !known {
			continue
		}
		checkForeignFields(errs, path, k)
		switch k.Type {
		case TypeSSE, TypeWebSocket:
			validateBroadcast(errs, i, k, perType[k.Type] > 1, paths)
		case TypeWebhook:
			validateWebhook(errs, path, &k.Webhook)
		case TypeNATS:
			validateNATSSink(errs, path, k)
		}
	}
}

// checkForeignFields reports keys set on a sink that belong to other
// sink types, e.g. a url on an sse sink.
func checkForeignFields(errs *errorList, path string, k *Sink) {
	own := typeFields[k.Type]
	for _, part := range []reflect.Value{reflect.ValueOf(k.Broadcast), reflect.ValueOf(k.Webhook), reflect.ValueOf(k.NATSSink)} {
		for _, f := range fieldsOf(part.Type()) {
			if !part.FieldByIndex(f.index).IsZero() && !contains(own, f.name) {
				errs.add(join(path, f.name), "not a field of %s %s sink", article(k.Type), k.Type)
			}
		}
	}
}

// validateBroadcast checks an sse or websocket sink.
// paths maps each path already taken to the index of its sink.
func validateBroadcast(errs *errorList, i int, k *Sink, several bool, paths map[string]int) {
	path := index("sinks", i)
	b := &k.Broadcast
	switch {
	case b.Path == "" && several:
		errs.add(path+".path", "required when several sinks have type %q", k.Type)
	case b.Path == "":
		def := DefaultSSEPath
		if k.Type == TypeWebSocket {
			def = DefaultWebSocketPath
		}
		errs.add(path+".path", "required, e.g. %q", def)
	case !strings.HasPrefix(b.Path, "/"):
		errs.add(path+".path", "must start with \"/\", e.g. %q", "/"+strings.TrimLeft(b.Path, "/"))
	case strings.ContainsAny(b.Path, "?# \t\r\n"):
		errs.add(path+".path", "must be a plain URL path, without query, fragment or spaces")
	case contains(reservedPaths, b.Path):
		errs.add(path+".path", "%s is served by pgcdc itself: choose another path", b.Path)
	default:
		if j, dup := paths[b.Path]; dup {
			errs.add(path+".path", "%s is already used by sinks[%d]: each broadcast sink needs its own path", b.Path, j)
		} else {
			paths[b.Path] = i
		}
	}
	// The replay ring grows to the power of two at or above max_events.
	inRange(errs, path+".replay.max_events", b.Replay.MaxEvents, 1, 10_000_000)
	inRange(errs, path+".replay.max_bytes", b.Replay.MaxBytes, 1, 64<<30)
	inRange(errs, path+".replay.max_age", b.Replay.MaxAge, time.Second, maxElapsed)
	// A lag limit, not an allocation (clients read the shared ring): a
	// client further behind than the ring holds has fallen out anyway.
	inRange(errs, path+".client_buffer", b.ClientBuffer, 1, 10_000_000)
	// Every heartbeat wakes every client's writer: below 1s that is CPU
	// spent on nothing; a proxy's idle timeout is rarely under a minute.
	inRange(errs, path+".heartbeat", b.Heartbeat, time.Second, time.Hour)
	inRange(errs, path+".write_timeout", b.WriteTimeout, 100*time.Millisecond, 10*time.Minute)
	switch k.Type {
	case TypeSSE:
		// Below 100ms EventSource clients reconnect in a tight loop.
		inRange(errs, path+".client_retry", b.ClientRetry, 100*time.Millisecond, time.Hour)
	case TypeWebSocket:
		// A subscribe message with a few filters needs a few hundred bytes.
		inRange(errs, path+".max_message_bytes", b.MaxMessageBytes, 1<<10, 64<<20)
	}
	for i, o := range b.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs.add(index(path+".allowed_origins", i), "invalid origin %s: want \"*\" or scheme://host[:port], e.g. \"https://app.example.com\"", quoteValue(o))
		}
	}
}

// validateWebhook checks a webhook sink. Secret and header values are
// never quoted back.
func validateWebhook(errs *errorList, path string, w *Webhook) {
	https := false
	switch u, err := url.Parse(w.URL); {
	case w.URL == "":
		errs.add(path+".url", "required: the receiver's http or https URL")
	case err != nil:
		errs.add(path+".url", "not a valid URL (value not shown: it may hold credentials)")
	case u.Scheme == "":
		errs.add(path+".url", "want an absolute http or https URL, e.g. \"https://example.com/hooks\"")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.add(path+".url", "want an http or https URL, got scheme %s", quoteValue(u.Scheme))
	case u.Host == "":
		errs.add(path+".url", "want an absolute URL with a host, e.g. \"https://example.com/hooks\"")
	default:
		https = u.Scheme == "https"
	}
	for _, name := range slices.Sorted(maps.Keys(w.Headers)) {
		value := w.Headers[name]
		hp := join(path+".headers", name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs.add(hp, "invalid header name: want letters, digits and !#$%%&'*+-.^_`|~")
		case contains(reservedHeaders, strings.ToLower(name)):
			errs.add(hp, "set by pgcdc itself: remove it")
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			errs.add(hp, "value must not contain CR, LF or NUL (value not shown)")
		}
	}
	inRange(errs, path+".timeout", w.Timeout, 100*time.Millisecond, 10*time.Minute)
	if w.TLS != (TLS{}) && !https {
		errs.add(path+".tls", "only used with an https url")
	}
	if (w.TLS.CertFile == "") != (w.TLS.KeyFile == "") {
		errs.add(path+".tls", "cert_file and key_file go together: set both or neither")
	}
	if _, err := secretKeyLen(w.Secret); err != nil {
		errs.add(path+".secret", "%v (value not shown)", err)
	}
	switch w.Format {
	case FormatEvent, FormatCloudEvents:
	default:
		errs.add(path+".format", "unknown format %s: want %s or %s", quoteValue(w.Format), FormatEvent, FormatCloudEvents)
	}
	inRange(errs, path+".batch.max_events", w.Batch.MaxEvents, 1, 10_000)
	// A request body is built in memory, one at a time.
	inRange(errs, path+".batch.max_bytes", w.Batch.MaxBytes, 1, 1<<30)
	inRange(errs, path+".batch.max_wait", w.Batch.MaxWait, 0, time.Hour)
	validateBackoff(errs, path+".retry", w.Retry, "0: the default, "+shortDuration(DefaultRetryMaxElapsed))
}

// minSecretBytes is the shortest webhook signing key that does not draw a
// warning (docs/webhooks.md).
const minSecretBytes = 24

// secretKeyLen returns the length in bytes of the signing key a webhook
// secret stands for: after "whsec_", base64 (padded or not); otherwise
// the secret's own bytes. It reads secrets as webhook.ParseKey does.
func secretKeyLen(secret string) (int, error) {
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return len(secret), nil
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(rest)
	}
	if err != nil || len(b) == 0 {
		return 0, errors.New(`after "whsec_" want standard base64`)
	}
	return len(b), nil
}

// article returns "a" or "an" for the sink type that follows it, as
// spoken: "an sse sink", "a webhook sink".
func article(sinkType string) string {
	if sinkType == TypeSSE {
		return "an"
	}
	return "a"
}

func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}
