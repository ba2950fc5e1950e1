package live

import (
	"math"
	"testing"
	"time"
)

// bucketOf agrees with the bucket definition: bucket i ≥ 1 holds
// [histMin·10^((i-1)/40), histMin·10^(i/40)), bucket 0 what is below
// histMin, the overflow bucket 10 s and more.
func TestBucketOf(t *testing.T) {
	for _, d := range []time.Duration{0, 1, histMin - 1, histMin, histMin + 1, time.Millisecond, 7 * time.Millisecond,
		20 * time.Millisecond, 99 * time.Millisecond, time.Second, 10*time.Second - 1, 10 * time.Second, time.Hour} {
		want := 0
		if d >= histMin {
			want = min(1+int(math.Log10(float64(d)/float64(histMin))*histPerDecade), histOverflow)
		}
		if got := bucketOf(d); got != want {
			t.Errorf("bucketOf(%v) = %d, want %d", d, got, want)
		}
		if i := bucketOf(d); i < histOverflow && d >= bucketUpper(i) {
			t.Errorf("%v is not below the upper bound %v of its bucket %d", d, bucketUpper(i), i)
		}
	}
}
