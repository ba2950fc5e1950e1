// Package natsconn opens the NATS connections of pgcdc's nats sink, nats
// source and HA lease, with the options NATS users expect: a list of
// server URLs, a credentials file (JWT + NKey seed), an NKey seed file,
// user and password, a token, and TLS (CA, client certificate). A
// connection reconnects forever: a NATS outage makes pgcdc wait, it never
// gives up on its own.
package natsconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Options says where and how to connect. Passwords, tokens and seeds are
// secrets: they never appear in logs or errors (use Redacted for URLs).
type Options struct {
	// URL is one or more server URLs, comma-separated
	// (nats://host:4222,nats://other:4222); user info in a URL is allowed.
	URL string
	// Name is the client name servers show in their monitoring.
	Name string
	// CredsFile is a .creds file (user JWT and NKey seed).
	CredsFile string
	// NKeyFile is a file with an NKey seed (SU...).
	NKeyFile string
	// User and Password, or Token, authenticate without NKeys.
	User, Password, Token string
	TLS                   TLS
}

// TLS configures TLS to the servers; the zero value uses TLS only when a
// URL says tls:// and verifies with the system roots.
type TLS struct {
	CAFile             string
	CertFile, KeyFile  string
	InsecureSkipVerify bool
}

// Connect connects to o.URL. It returns at once with a connection that
// keeps trying in the background when no server answers (the first use
// then waits), and fails only on options that cannot work (a credentials
// file that does not load). Connection losses and reconnects are logged.
func Connect(o Options, log *slog.Logger) (*nats.Conn, error) {
	if strings.TrimSpace(o.URL) == "" {
		return nil, errors.New("nats: url is required (e.g. nats://127.0.0.1:4222)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.Timeout(5 * time.Second),
		nats.PingInterval(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats connection lost; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("nats reconnected", "server", Redacted(c.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats error", "error", err)
		}),
	}
	switch {
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: nkey_file %q: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLS.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.TLS.CAFile))
	}
	if o.TLS.CertFile != "" {
		opts = append(opts, nats.ClientCert(o.TLS.CertFile, o.TLS.KeyFile))
	}
	if o.TLS.InsecureSkipVerify {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true})) //nolint:gosec // the user asked, and config warns
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", Redacted(o.URL), err)
	}
	return nc, nil
}

// Redacted returns urls (comma-separated) with passwords and tokens in
// user info replaced by "xxxxx".
func Redacted(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(unparsable url)"
			continue
		}
		if u.User == nil {
			continue
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		} else {
			u.User = url.User("xxxxx")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
