// Package retry schedules the reconnects of the triggers and listen
// sources: exponential backoff with jitter, bounded by a total time.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Schedule is an exponential backoff: Initial, doubling up to Max, each
// delay drawn between 80 and 100 % of its value; MaxElapsed (0: forever)
// bounds the time spent retrying since the first failure.
type Schedule struct {
	Initial, Max, MaxElapsed time.Duration

	attempt int
	since   time.Time
}

// Reset forgets past failures (the connection worked again).
func (s *Schedule) Reset() { s.attempt, s.since = 0, time.Time{} }

// Wait sleeps before the next attempt. It returns an error when
// MaxElapsed would be passed, or ctx.Err() when ctx ends first.
func (s *Schedule) Wait(ctx context.Context, cause error) error {
	if s.since.IsZero() {
		s.since = time.Now()
	}
	d := s.Initial
	if d <= 0 {
		d = 500 * time.Millisecond
	}
	for i := 0; i < s.attempt && d < s.Max; i++ {
		d *= 2
	}
	if s.Max > 0 && d > s.Max {
		d = s.Max
	}
	d = time.Duration(float64(d) * (0.8 + 0.2*rand.Float64()))
	s.attempt++
	if s.MaxElapsed > 0 && time.Since(s.since)+d > s.MaxElapsed {
		return fmt.Errorf("gave up reconnecting after %s (source.reconnect.max_elapsed): %w", time.Since(s.since).Round(time.Second), cause)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Next returns the delay Wait would sleep next, for a log line; it does
// not advance the schedule.
func (s *Schedule) Next() time.Duration {
	d := s.Initial
	for i := 0; i < s.attempt && d < s.Max; i++ {
		d *= 2
	}
	if s.Max > 0 && d > s.Max {
		d = s.Max
	}
	return d
}
