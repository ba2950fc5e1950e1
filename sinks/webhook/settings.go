package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/pgcdc/pgcdc/config"
)

// Defaults for zero values in config.Webhook (config applies the same ones
// before New sees them; these make a hand-built config.Sink work too).
const (
	defaultTimeout    = 10 * time.Second
	defaultMaxBytes   = 1 << 20
	defaultInitial    = 200 * time.Millisecond
	defaultMax        = 30 * time.Second
	defaultMaxElapsed = time.Hour
)

const (
	formatEvent       = "event"
	formatCloudEvents = "cloudevents"
)

// settings is a validated config.Sink of type webhook.
type settings struct {
	name       string
	url        string // as configured, for requests
	safeURL    string // scheme://host/path, for logs and errors
	headers    http.Header
	timeout    time.Duration
	key        Key // zero when unsigned
	format     string
	array      bool // bodies are JSON arrays (batch.max_events > 1)
	maxEvents  int
	maxBytes   int
	maxWait    time.Duration
	retry      backoff
	deadLetter string
	tls        *tls.Config // nil: the transport's default
}

// reservedHeaders may not be set through headers: the sink owns them.
var reservedHeaders = map[string]bool{
	"Webhook-Id":        true,
	"Webhook-Timestamp": true,
	"Webhook-Signature": true,
	"Content-Type":      true,
	"Content-Length":    true,
	"Host":              true,
	"Transfer-Encoding": true,
}

// parseSettings validates cfg and fills defaults for zero values. It
// reports every problem at once, each naming the key at fault; secrets and
// header values never appear in its errors.
func parseSettings(cfg config.Sink) (settings, error) {
	s := settings{name: cfg.Name}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if cfg.Type != "" && cfg.Type != "webhook" {
		bad("type", "is %q, want webhook", cfg.Type)
	}
	if cfg.Name == "" {
		bad("name", "is required")
	}

	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		bad("url", "is required (the receiver's http:// or https:// address)")
	case err != nil:
		bad("url", "does not parse as a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		bad("url", "scheme %q is not supported, want http or https", u.Scheme)
	case u.Host == "":
		bad("url", "has no host")
	default:
		s.url = cfg.URL
		s.safeURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}

	s.headers = make(http.Header, len(cfg.Headers))
	for name, value := range cfg.Headers {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			bad("headers", "%q is not a valid header name", name)
		case reservedHeaders[canon]:
			bad("headers", "%q is set by the sink itself and may not be configured", name)
		case strings.ContainsAny(value, "\r\n\x00"):
			bad("headers", "the value of %q contains a line break or NUL", name)
		default:
			s.headers.Set(canon, value)
		}
	}

	s.timeout = cfg.Timeout
	if s.timeout == 0 {
		s.timeout = defaultTimeout
	} else if s.timeout < 0 {
		bad("timeout", "must not be negative")
	}

	if cfg.Secret != "" {
		if s.key, err = ParseKey(cfg.Secret); err != nil {
			bad("secret", "%v", err)
		}
	}

	switch cfg.Format {
	case "", formatEvent:
		s.format = formatEvent
	case formatCloudEvents:
		s.format = formatCloudEvents
	default:
		bad("format", "is %q, want event or cloudevents", cfg.Format)
	}

	s.maxEvents = cfg.Batch.MaxEvents
	switch {
	case s.maxEvents == 0:
		s.maxEvents = 1
	case s.maxEvents < 0:
		bad("batch.max_events", "must be at least 1")
	}
	s.array = s.maxEvents > 1
	switch {
	case cfg.Batch.MaxBytes == 0:
		s.maxBytes = defaultMaxBytes
	case cfg.Batch.MaxBytes < 0:
		bad("batch.max_bytes", "must be positive")
	case cfg.Batch.MaxBytes > 1<<30:
		bad("batch.max_bytes", "must be at most 1 GiB")
	default:
		s.maxBytes = int(cfg.Batch.MaxBytes)
	}
	s.maxWait = cfg.Batch.MaxWait
	if s.maxWait < 0 {
		bad("batch.max_wait", "must not be negative")
	}

	r := cfg.Retry
	if r.Initial < 0 || r.Max < 0 || r.MaxElapsed < 0 {
		bad("retry", "initial, max and max_elapsed must not be negative")
	}
	if r.Initial == 0 {
		r.Initial = defaultInitial
	}
	if r.Max == 0 {
		r.Max = max(defaultMax, r.Initial)
	}
	if r.MaxElapsed == 0 {
		r.MaxElapsed = defaultMaxElapsed
	}
	if r.Max < r.Initial {
		bad("retry.max", "(%s) must be at least retry.initial (%s)", r.Max, r.Initial)
	}
	s.retry = backoff{initial: r.Initial, max: r.Max, maxElapsed: r.MaxElapsed}

	if cfg.DeadLetter != "" {
		s.deadLetter = cfg.DeadLetter
		dir := filepath.Dir(cfg.DeadLetter)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			bad("dead_letter", "directory %s does not exist", dir)
		}
	}

	if s.tls, err = tlsConfig(cfg.TLS); err != nil {
		bad("tls", "%v", err)
	}

	if len(errs) > 0 {
		return settings{}, fmt.Errorf("webhook sink %q: %w", cfg.Name, errors.Join(errs...))
	}
	return s, nil
}

// tlsConfig builds the client TLS configuration, or nil when every field
// is at its zero value. A ca_file adds to the system roots.
func tlsConfig(c config.TLS) (*tls.Config, error) {
	if c == (config.TLS{}) {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // the user asked for it; New warns
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.CertFile != "" && c.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case c.CertFile != "" || c.KeyFile != "":
		return nil, errors.New("cert_file and key_file must be set together")
	}
	return cfg, nil
}
