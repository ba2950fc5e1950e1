package live

import (
	"net"
	"time"
)

// WriteDeadline keeps a connection's write deadline ahead of its writes
// without setting it on every write: setting a deadline re-arms a runtime
// timer, a cost paid per client per wake-up. Arm moves the deadline only
// when less than the timeout is left, to the timeout plus a slack of at
// most a second, so a write that blocks is cut after between timeout and
// timeout plus slack. The zero value is not valid: use NewWriteDeadline.
// It is not safe for concurrent use.
type WriteDeadline struct {
	timeout time.Duration
	slack   time.Duration
	until   time.Time
}

// NewWriteDeadline returns a WriteDeadline for writes bounded by timeout.
func NewWriteDeadline(timeout time.Duration) WriteDeadline {
	return WriteDeadline{timeout: timeout, slack: min(timeout/2, time.Second)}
}

// Arm makes sure conn's write deadline is at least the timeout away.
func (d *WriteDeadline) Arm(conn net.Conn) error {
	now := time.Now()
	if d.until.Sub(now) >= d.timeout {
		return nil
	}
	d.until = now.Add(d.timeout + d.slack)
	return conn.SetWriteDeadline(d.until)
}
