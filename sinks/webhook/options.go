package webhook

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Option customises a Sink (or a Replay). The zero set of options works.
type Option func(*options)

type options struct {
	client    *http.Client
	transport http.RoundTripper
	now       func() time.Time
	database  string
	version   string
	// jitter returns a number in [0, 1) that spreads retry delays; tests
	// inside this package replace it to make the schedule exact.
	jitter func() float64
}

func defaultOptions() options {
	return options{
		now:      time.Now,
		database: "unknown",
		version:  "dev",
		jitter:   rand.Float64,
	}
}

// WithHTTPClient makes the sink send with a copy of c instead of its own
// tuned client. The copy never follows redirects (a 3xx is a permanent
// failure, see the package documentation); c's Timeout, if any, applies on
// top of the sink's per-attempt timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.client = c }
}

// WithTransport makes the sink's own client send through rt instead of its
// tuned *http.Transport. The sink's TLS settings do not apply to rt.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// WithClock sets the clock used for webhook-timestamp, Retry-After dates,
// dead-letter times and delivery latency. Retry delays and batch timers
// use the time package directly, so tests run them under testing/synctest.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithDatabase names the database in CloudEvents sources
// (/postgres/<database>/<schema>/<table>). Without it the name is
// "unknown"; cmd passes the database of the source DSN.
func WithDatabase(name string) Option {
	return func(o *options) {
		if name != "" {
			o.database = name
		}
	}
}

// WithVersion sets the version in the User-Agent header (pgcdc/<version>);
// the default is "dev".
func WithVersion(v string) Option {
	return func(o *options) {
		if v != "" {
			o.version = v
		}
	}
}
