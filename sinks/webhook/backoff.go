package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	retry "github.com/pgcdc/pgcdc/internal/backoff"
)

// schedule returns the retry schedule of these settings: internal/backoff's,
// the one the replication source uses for reconnects too, with jitter
// drawn from jitter (a number in [0, 1)). Delays sleep with plain timers,
// which testing/synctest controls.
func (r Retry) schedule(jitter func() float64) retry.Schedule {
	return retry.Schedule{Initial: r.Initial, Max: r.Max, MaxElapsed: r.MaxElapsed, Jitter: jitter}
}

// honourRetryAfter lengthens the scheduled delay d to a receiver's
// Retry-After (retryAfter > 0), capped at retry.max: it is honoured, but
// never beyond the schedule the user configured, and it never shortens d.
func honourRetryAfter(d, retryAfter, maxDelay time.Duration) time.Duration {
	if retryAfter > 0 {
		d = max(d, min(retryAfter, maxDelay))
	}
	return d
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (relative to now). It returns 0 when the header is absent, invalid
// or in the past.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64((1<<63 - 1) / int64(time.Second))
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
