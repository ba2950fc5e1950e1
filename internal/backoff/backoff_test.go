package backoff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelay(t *testing.T) {
	const ms = time.Millisecond
	s := Schedule{Initial: 100 * ms, Max: time.Second}
	for _, tt := range []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{0, 0, 100 * ms}, // below 1 counts as 1
		{1, 0, 100 * ms},
		{2, 0, 200 * ms},
		{4, 0, 800 * ms},
		{5, 0, time.Second}, // capped
		{1000, 0, time.Second},
		{1, 0.5, 90 * ms}, // 10 % off
		{5, 0.999, 800200 * time.Microsecond},
	} {
		s.Jitter = func() float64 { return tt.jitter }
		if got := s.Delay(tt.n); got != tt.want {
			t.Errorf("Delay(%d) with jitter %v = %s, want %s", tt.n, tt.jitter, got, tt.want)
		}
	}
}

// Without an injected jitter, delays still lie within 80–100 % of the base
// and are not all the same.
func TestDelayRandomJitter(t *testing.T) {
	s := Schedule{Initial: time.Second, Max: time.Second}
	seen := map[time.Duration]bool{}
	for range 100 {
		d := s.Delay(3)
		if d < 800*time.Millisecond || d > time.Second {
			t.Fatalf("delay %s outside [800ms, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("100 delays without jitter")
	}
}

func TestAllows(t *testing.T) {
	limited := Schedule{MaxElapsed: time.Minute}
	if !limited.Allows(time.Minute) || limited.Allows(time.Minute+1) {
		t.Error("MaxElapsed 1m: want a retry at exactly 1m allowed, one after refused")
	}
	if !(Schedule{}).Allows(1000 * time.Hour) {
		t.Error("MaxElapsed 0 must allow retries forever")
	}
}

// A huge n never overflows into a negative or zero delay.
func FuzzBase(f *testing.F) {
	f.Add(int64(time.Millisecond), int64(time.Hour), 70)
	f.Add(int64(3), int64(1<<63-1), 64)
	f.Fuzz(func(t *testing.T, initial, maxD int64, n int) {
		if initial <= 0 || maxD < initial || n < 1 || n > 1<<20 {
			return
		}
		s := Schedule{Initial: time.Duration(initial), Max: time.Duration(maxD)}
		if got := s.Base(n); got < s.Initial || got > s.Max {
			t.Fatalf("Base(%d) = %s, outside [%s, %s]", n, got, s.Initial, s.Max)
		}
	})
}

// TestRetry: Wait sleeps the schedule's delays, gives up before a wait
// that would pass MaxElapsed, and Reset starts over.
func TestRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := Retry{Schedule: Schedule{Initial: time.Second, Max: 4 * time.Second, MaxElapsed: 10 * time.Second, Jitter: func() float64 { return 0 }}}
		start := time.Now()
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			before := time.Now()
			if err := r.Wait(context.Background(), errors.New("down")); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(before); d != want {
				t.Fatalf("waited %s, want %s", d, want)
			}
		}
		// 7s spent; another 4s would pass 10s.
		if err := r.Wait(context.Background(), errors.New("down")); err == nil || !strings.Contains(err.Error(), "down") {
			t.Fatalf("past max_elapsed: %v", err)
		}
		if time.Since(start) != 7*time.Second {
			t.Fatalf("gave up after %s, want 7s", time.Since(start))
		}
		r.Reset()
		if r.Next() != time.Second {
			t.Fatalf("after Reset the next delay is %s", r.Next())
		}
	})
}
