package webhook

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// delay returns how long to wait before retry number n (from 1): the base
// min(initial·2^(n-1), max), reduced by a random 0–20 % (jitter in [0, 1)
// picks where), so a delay never exceeds max and retries from many
// senders spread out. A Retry-After from the receiver (retryAfter > 0)
// lengthens the delay to min(retryAfter, max): it is honoured, but never
// beyond the schedule the user configured.
//
// The schedule is written out here rather than taken from a library
// because it is a dozen lines, takes its jitter from an injectable source
// (exact schedules in tests), and sleeps with plain timers that
// testing/synctest controls.
func (b Retry) delay(n int, jitter float64, retryAfter time.Duration) time.Duration {
	base := b.Initial
	for i := 1; i < n && base < b.Max; i++ {
		base *= 2
	}
	base = min(base, b.Max)
	d := base - time.Duration(float64(base)*0.2*jitter)
	if retryAfter > 0 {
		d = max(d, min(retryAfter, b.Max))
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

// sleep waits d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
