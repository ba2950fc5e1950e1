// Package backoff is the one retry schedule of pgcdc: exponential delays
// with jitter, capped, bounded in total time. The replication source uses
// it between reconnects (source.reconnect) and the webhook sink between
// attempts of a request (sinks[].retry); both are a config.Backoff.
//
// It computes delays, and Sleep waits one out (a timer, which
// testing/synctest controls); callers keep their own attempt counter and
// start time, or use Retry.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Schedule is an exponential backoff: retry n (from 1) waits about
// min(Initial·2^(n-1), Max), and no retry starts more than MaxElapsed after
// the first attempt (0: no limit). The zero Jitter draws from math/rand/v2.
// A Schedule is a value; it is safe for concurrent use when Jitter is.
type Schedule struct {
	Initial, Max, MaxElapsed time.Duration
	// Jitter returns a number in [0, 1) that picks where in the jitter
	// range a delay falls; tests inject a fixed one for exact schedules.
	Jitter func() float64
}

// jitterShare is how much of the base delay jitter may take away: a delay
// lies in [80 %, 100 %] of its base, so it never exceeds Max and retries
// from many clients spread out.
const jitterShare = 0.2

// Base returns the delay before retry n without jitter:
// min(Initial·2^(n-1), Max). n below 1 counts as 1.
func (s Schedule) Base(n int) time.Duration {
	base := max(s.Initial, 0)
	for i := 1; i < n && base < s.Max; i++ {
		if base > s.Max/2 {
			return s.Max // doubling would pass Max (or overflow)
		}
		base *= 2
	}
	if s.Max > 0 {
		base = min(base, s.Max)
	}
	return base
}

// Delay returns the wait before retry n (from 1): Base(n) reduced by a
// random 0–20 %.
func (s Schedule) Delay(n int) time.Duration {
	j := s.Jitter
	if j == nil {
		j = rand.Float64
	}
	base := s.Base(n)
	return base - time.Duration(float64(base)*jitterShare*j())
}

// Allows reports whether a retry that starts at elapsed after the first
// attempt is within MaxElapsed. Callers pass the time spent so far plus the
// delay they are about to wait, so the decision to give up is taken before
// waiting in vain.
func (s Schedule) Allows(elapsed time.Duration) bool {
	return s.MaxElapsed <= 0 || elapsed <= s.MaxElapsed
}
