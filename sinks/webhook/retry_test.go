package webhook

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// attemptLog records when each attempt arrived and answers from a script.
type attemptLog struct {
	mu    sync.Mutex
	times []time.Time
	paths []string
}

func (a *attemptLog) add(r *http.Request) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.times = append(a.times, time.Now())
	a.paths = append(a.paths, r.URL.Path)
	return len(a.times)
}

// gaps returns the time between consecutive attempts.
func (a *attemptLog) gaps() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(a.times); i++ {
		out = append(out, a.times[i].Sub(a.times[i-1]))
	}
	return out
}

// runOne delivers one event through a sink configured by cfg against h,
// inside the current synctest bubble, and returns Run's error.
func runOne(t *testing.T, cfg Config, h http.Handler, jitter func() float64) error {
	t.Helper()
	tr := startPipeServer(t, h)
	s, err := New(cfg, nil, WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	if jitter != nil {
		s.opts.jitter = jitter
	}
	f := feed(t.Context(), split(makeEvents(1, 1), 1), true)
	return s.Run(t.Context(), f.in)
}

func noJitter() float64 { return 0 }

// The delays double from retry.initial up to retry.max.
func TestBackoffScheduleExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log attemptLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if log.add(r) <= 6 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		cfg := webhookConfig("schedule", "http://receiver.test/hooks")
		cfg.Retry = Retry{Initial: time.Second, Max: 8 * time.Second, MaxElapsed: time.Hour}
		if err := runOne(t, cfg, h, noJitter); err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := []time.Duration{1, 2, 4, 8, 8, 8}
		for i := range want {
			want[i] *= time.Second
		}
		if got := log.gaps(); !equalDurations(got, want) {
			t.Fatalf("retry delays %v, want %v", got, want)
		}
	})
}

// With jitter every delay lies between 80 % and 100 % of its base.
func TestBackoffJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log attemptLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if log.add(r) <= 8 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		cfg := webhookConfig("jitter", "http://receiver.test/hooks")
		cfg.Retry = Retry{Initial: time.Second, Max: 16 * time.Second, MaxElapsed: time.Hour}
		if err := runOne(t, cfg, h, nil); err != nil {
			t.Fatalf("Run: %v", err)
		}
		base := time.Second
		distinct := map[time.Duration]bool{}
		for i, g := range log.gaps() {
			if g < base*8/10 || g > base {
				t.Errorf("delay %d is %s, want within [%s, %s]", i+1, g, base*8/10, base)
			}
			distinct[g*time.Second/base] = true
			base = min(2*base, 16*time.Second)
		}
		if len(distinct) < 2 {
			t.Errorf("delays show no jitter: %v", log.gaps())
		}
	})
}

// Retry-After, in seconds or as an HTTP date, lengthens the next delay,
// up to retry.max; it never shortens the schedule.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func(now time.Time) string
		initial    time.Duration
		want       time.Duration
	}{
		{"seconds", 503, func(time.Time) string { return "5" }, 100 * time.Millisecond, 5 * time.Second},
		{"http date", 503, func(now time.Time) string { return now.Add(7 * time.Second).UTC().Format(http.TimeFormat) }, 100 * time.Millisecond, 7 * time.Second},
		{"429 with seconds", 429, func(time.Time) string { return "3" }, 100 * time.Millisecond, 3 * time.Second},
		{"capped at retry.max", 503, func(time.Time) string { return "3600" }, 100 * time.Millisecond, 10 * time.Second},
		{"shorter than the backoff", 503, func(time.Time) string { return "1" }, 4 * time.Second, 4 * time.Second},
		{"date in the past", 503, func(now time.Time) string { return now.Add(-time.Minute).UTC().Format(http.TimeFormat) }, 2 * time.Second, 2 * time.Second},
		{"unparseable", 503, func(time.Time) string { return "soon" }, 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log attemptLog
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if log.add(r) == 1 {
						w.Header().Set("Retry-After", tt.retryAfter(time.Now()))
						w.WriteHeader(tt.status)
					}
				})
				cfg := webhookConfig("retry-after", "http://receiver.test/hooks")
				cfg.Retry = Retry{Initial: tt.initial, Max: 10 * time.Second, MaxElapsed: time.Hour}
				if err := runOne(t, cfg, h, noJitter); err != nil {
					t.Fatalf("Run: %v", err)
				}
				if got := log.gaps(); len(got) != 1 || got[0] != tt.want {
					t.Fatalf("delay %v, want [%s]", got, tt.want)
				}
			})
		})
	}
}

// A request whose next attempt would start past retry.max_elapsed gives
// up; without dead_letter, Run says so and stops.
func TestMaxElapsedGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log attemptLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.add(r)
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		})
		cfg := webhookConfig("elapsed", "http://receiver.test/hooks")
		cfg.Retry = Retry{Initial: time.Second, Max: 4 * time.Second, MaxElapsed: 10 * time.Second}
		start := time.Now()
		err := runOne(t, cfg, h, noJitter)
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("Run = %v, want a *DeliveryError", err)
		}
		// Attempts at 0, 1, 3 and 7 s; the next would start at 11 s > 10 s.
		if de.Attempts != 4 || de.Permanent || de.Status != 503 || time.Since(start) != 7*time.Second {
			t.Fatalf("gave up after %d attempts (permanent %v, status %d) at %s; want 4 attempts, not permanent, 503, at 7s",
				de.Attempts, de.Permanent, de.Status, time.Since(start))
		}
		for _, want := range []string{"503", "down for maintenance", "retry.max_elapsed", "dead_letter"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})
}

// An attempt without an answer within timeout is retried.
func TestTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log attemptLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if log.add(r) == 1 {
				_, _ = io.ReadAll(r.Body) // lets the server notice the client hanging up
				select {
				case <-r.Context().Done():
				case <-time.After(time.Minute):
				}
			}
		})
		cfg := webhookConfig("timeout", "http://receiver.test/hooks")
		cfg.Timeout = 10 * time.Second
		cfg.Retry = Retry{Initial: time.Second, Max: time.Second, MaxElapsed: time.Hour}
		if err := runOne(t, cfg, h, noJitter); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := log.gaps(); len(got) != 1 || got[0] != 11*time.Second {
			t.Fatalf("second attempt after %v, want 11s (10s timeout + 1s backoff)", got)
		}
	})
}

// 408, 429 and 5xx are retried; 3xx (not followed) and other 4xx fail at
// once.
func TestStatusClasses(t *testing.T) {
	for _, status := range []int{301, 307, 400, 401, 404, 410, 422, 408, 429, 500, 502, 503, 504} {
		retry := status == 408 || status == 429 || status >= 500
		t.Run(http.StatusText(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log attemptLog
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if log.add(r) == 1 {
						w.Header().Set("Location", "/elsewhere")
						w.WriteHeader(status)
					}
				})
				cfg := webhookConfig("status", "http://receiver.test/hooks")
				err := runOne(t, cfg, h, noJitter)
				log.mu.Lock()
				paths := log.paths
				log.mu.Unlock()
				if retry {
					if err != nil || len(paths) != 2 {
						t.Fatalf("Run = %v after %d attempts, want success on the second", err, len(paths))
					}
					return
				}
				var de *DeliveryError
				if !errors.As(err, &de) || !de.Permanent || de.Status != status || len(paths) != 1 {
					t.Fatalf("Run = %v after attempts to %v, want one permanent failure with status %d", err, paths, status)
				}
			})
		})
	}
}

// max_wait closes a batch that is neither full nor followed by more
// events, measured from its first event.
func TestMaxWaitClosesBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			log  attemptLog
			rec  recorder
			mu   sync.Mutex
			sets [][]string
		)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.add(r)
			got := rec.record(r)
			mu.Lock()
			sets = append(sets, eventIDs(t, got.body))
			mu.Unlock()
		})
		cfg := webhookConfig("wait", "http://receiver.test/hooks")
		cfg.MaxEvents = 10
		cfg.MaxWait = 2 * time.Second
		s, err := New(cfg, nil, WithTransport(startPipeServer(t, h)))
		if err != nil {
			t.Fatal(err)
		}
		evs := makeEvents(3, 1)
		in := make(chan *pipeline.Batch)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- s.Run(t.Context(), in) }()
		in <- pipeline.NewBatch(evs[0:1], 1, nil) // t=0
		time.Sleep(time.Second)
		in <- pipeline.NewBatch(evs[1:2], 2, nil) // t=1s: same request
		time.Sleep(2 * time.Second)
		in <- pipeline.NewBatch(evs[2:3], 3, nil) // t=3s: a new one
		time.Sleep(2500 * time.Millisecond)
		close(in)
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		log.mu.Lock()
		times := log.times
		log.mu.Unlock()
		if len(times) != 2 || times[0].Sub(start) != 2*time.Second || times[1].Sub(start) != 5*time.Second {
			t.Fatalf("requests at %v after start, want at 2s and 5s", offsets(times, start))
		}
		if len(sets) != 2 || len(sets[0]) != 2 || len(sets[1]) != 1 {
			t.Fatalf("requests carried %v, want 2 events then 1", sets)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func offsets(times []time.Time, start time.Time) []time.Duration {
	out := make([]time.Duration, len(times))
	for i, t := range times {
		out[i] = t.Sub(start)
	}
	return out
}
