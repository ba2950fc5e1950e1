package source

import (
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// commitLog is a small ring of (end position, commit time) of recent
// transactions, so that the lag in seconds can be told from a confirmed
// position. It is owned by the replication goroutine.
type commitLog struct {
	ends  [256]pipeline.LSN
	times [256]time.Time
	next  int
}

func (c *commitLog) add(end pipeline.LSN, t time.Time) {
	c.ends[c.next%len(c.ends)] = end
	c.times[c.next%len(c.times)] = t
	c.next++
}

// oldestAfter returns the commit time of the oldest remembered
// transaction that ends after pos: the oldest change still in flight. With
// more transactions in flight than the ring holds it underestimates.
func (c *commitLog) oldestAfter(pos pipeline.LSN) time.Time {
	var oldest time.Time
	n := min(c.next, len(c.ends))
	for i := range n {
		idx := (c.next - 1 - i) % len(c.ends)
		if c.ends[idx] > pos {
			oldest = c.times[idx]
		}
	}
	return oldest
}
