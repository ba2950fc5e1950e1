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
	"time"
)

// Config is the complete settings of one webhook sink. The package takes
// it as given: every key is documented, checked and defaulted by package
// config, and internal/wiring builds a Config from the validated
// config.Sink (tests fill one in). Zero values are not replaced by
// defaults. New checks only what needs the running process: that the
// dead-letter file can be written and that the TLS files load.
type Config struct {
	Name string
	// URL is the receiver's absolute http or https URL. It may hold user
	// info or a token in its query: logs and errors show only
	// scheme://host/path.
	URL string
	// Headers are sent with every request. Their values may be secrets:
	// they are never logged.
	Headers http.Header
	// Timeout bounds one attempt, from sending to reading the answer.
	Timeout time.Duration
	// Key signs every request (webhook-signature); the zero Key signs none.
	Key Key
	// CloudEvents sends CloudEvents 1.0 envelopes instead of plain events.
	CloudEvents bool
	// MaxEvents and MaxBytes bound one request; with MaxEvents > 1 every
	// body is a JSON array. MaxWait is how long a request that is not full
	// waits for more events; 0 sends what is already waiting in the inbox.
	MaxEvents int
	MaxBytes  int
	MaxWait   time.Duration
	Retry     Retry
	// DeadLetter is the JSON-lines file that requests which fail for good
	// are appended to; empty: such a failure stops the pipeline.
	DeadLetter string
	TLS        TLS
}

// Retry is the schedule of a failing request: delays grow from Initial,
// doubling up to Max, and no attempt starts more than MaxElapsed after
// the first.
type Retry struct {
	Initial, Max, MaxElapsed time.Duration
}

// TLS is the client side of HTTPS to the receiver. The zero TLS uses the
// system roots and no client certificate.
type TLS struct {
	CAFile             string // PEM roots added to the system's
	CertFile, KeyFile  string // client certificate, both or neither
	ServerName         string // overrides the name verified
	InsecureSkipVerify bool   // do not verify the receiver's certificate
}

// format names the body format in dead-letter records.
func (c *Config) format() string {
	if c.CloudEvents {
		return formatCloudEvents
	}
	return formatEvent
}

const (
	formatEvent       = "event"
	formatCloudEvents = "cloudevents"
)

// checkDeadLetter reports whether the dead-letter file can be appended
// to: an existing file must open for writing, a new one must be creatable
// in its directory. It creates nothing that stays.
func checkDeadLetter(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".pgcdc-write-check-*")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("directory %s does not exist", dir)
		}
		return fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// safeURL returns scheme://host/path of raw, without user info, query or
// fragment, for logs and errors.
func safeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// The value is not quoted: it may hold credentials.
		return "", errors.New("url is not an absolute URL")
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), nil
}

// tlsConfig loads the client TLS configuration, or returns nil when c is
// the zero TLS. A ca_file adds to the system roots.
func tlsConfig(c TLS) (*tls.Config, error) {
	if c == (TLS{}) {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // the user asked for it; config warns
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
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
