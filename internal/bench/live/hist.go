package live

import (
	"fmt"
	"math"
	"time"
)

// The latency histogram of pgcdc bench live: fixed, log-spaced buckets from
// histMin to histMin·10^histDecades (0.1 ms to 10 s), histPerDecade per
// decade (each bucket about 6% wide), plus one bucket below histMin and one
// overflow bucket for everything at or above 10 s and for events that never
// arrived. Each client records into its own histogram without allocating;
// they are merged at the end.
const (
	histMin       = 100 * time.Microsecond
	histPerDecade = 40
	histDecades   = 5
	histBuckets   = histPerDecade*histDecades + 2
	histOverflow  = histBuckets - 1
)

// latencyHist counts latencies into fixed buckets and keeps the maximum.
// It is not safe for concurrent use: one goroutine owns it.
type latencyHist struct {
	n   [histBuckets]uint64
	max time.Duration
}

// histUpper holds the upper bound of each bucket but the overflow one
// (bucketUpper's values), for bucketOf's binary search: a logarithm per
// event was a visible share of the clients' CPU time.
var histUpper = func() (u [histOverflow]time.Duration) {
	for i := range u {
		u[i] = bucketUpper(i)
	}
	return u
}()

// bucketOf returns the bucket index of d: the first bucket whose upper
// bound is above d, or the overflow bucket.
func bucketOf(d time.Duration) int {
	lo, hi := 0, histOverflow
	for lo < hi {
		mid := (lo + hi) / 2
		if d < histUpper[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// bucketUpper returns the upper bound of bucket i (the overflow bucket has
// none: it returns the lower bound, 10 s).
func bucketUpper(i int) time.Duration {
	if i >= histOverflow {
		i = histOverflow - 1
	}
	return time.Duration(float64(histMin) * math.Pow(10, float64(i)/histPerDecade))
}

// add records one latency.
func (h *latencyHist) add(d time.Duration) {
	h.n[bucketOf(d)]++
	h.max = max(h.max, d)
}

// addLost records n events that never arrived, as overflow.
func (h *latencyHist) addLost(n uint64) { h.n[histOverflow] += n }

// merge adds o into h.
func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.n {
		h.n[i] += c
	}
	h.max = max(h.max, o.max)
}

// count returns the number of recorded latencies (lost events included).
func (h *latencyHist) count() uint64 {
	var t uint64
	for _, c := range h.n {
		t += c
	}
	return t
}

// quantile returns the upper bound of the bucket holding quantile q and
// whether that bucket is the overflow one (10 s or more, or lost).
func (h *latencyHist) quantile(q float64) (time.Duration, bool) {
	total := h.count()
	if total == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.n {
		seen += c
		if seen >= rank {
			return bucketUpper(i), i == histOverflow
		}
	}
	return bucketUpper(histOverflow), true
}

// latencyStats are the figures of one merged histogram. A percentile whose
// Over flag is set lies in the overflow bucket: that share of the events
// took 10 s or more, or never arrived.
type latencyStats struct {
	P50, P90, P99, Max        time.Duration
	P50Over, P90Over, P99Over bool
}

func (h *latencyHist) stats() latencyStats {
	var s latencyStats
	s.P50, s.P50Over = h.quantile(0.50)
	s.P90, s.P90Over = h.quantile(0.90)
	s.P99, s.P99Over = h.quantile(0.99)
	s.Max = h.max
	// A bucket's upper bound may exceed the largest value in it.
	for _, p := range []*time.Duration{&s.P50, &s.P90, &s.P99} {
		if h.max > 0 && *p > h.max && h.n[histOverflow] == 0 {
			*p = h.max
		}
	}
	return s
}

// fmtLatency formats a latency in milliseconds for the report table.
func fmtLatency(d time.Duration, over bool) string {
	if over {
		return fmt.Sprintf(">%.0fs", bucketUpper(histOverflow).Seconds())
	}
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fs", ms/1000)
	}
}
