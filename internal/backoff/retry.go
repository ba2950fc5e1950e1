package backoff

import (
	"context"
	"fmt"
	"time"
)

// Retry is a Schedule with its state, for a loop that reconnects: the
// number of failures since the last success and when they began. The zero
// value of the state is ready; it is owned by one goroutine.
type Retry struct {
	Schedule
	failures int
	since    time.Time
}

// Reset forgets past failures (the connection worked again).
func (r *Retry) Reset() { r.failures, r.since = 0, time.Time{} }

// Next returns the delay Wait sleeps next without jitter, for a log line;
// it does not advance the schedule.
func (r *Retry) Next() time.Duration { return r.Base(r.failures + 1) }

// Wait sleeps before the next attempt. It returns an error wrapping cause
// when MaxElapsed would be passed (the decision is taken before waiting in
// vain), or ctx.Err() when ctx ends first.
func (r *Retry) Wait(ctx context.Context, cause error) error {
	if r.since.IsZero() {
		r.since = time.Now()
	}
	r.failures++
	d := r.Delay(r.failures)
	if !r.Allows(time.Since(r.since) + d) {
		return fmt.Errorf("gave up reconnecting after %s (source.reconnect.max_elapsed): %w", time.Since(r.since).Round(time.Second), cause)
	}
	return Sleep(ctx, d)
}
