package live

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// Arm sets the deadline once and leaves it while more than the timeout is
// left; a write that then blocks fails with a deadline error, so a stuck
// client is cut.
func TestWriteDeadline(t *testing.T) {
	c1, c2 := net.Pipe() // nobody reads c2: writes to c1 block
	defer c1.Close()
	defer c2.Close()
	d := NewWriteDeadline(50 * time.Millisecond)
	if err := d.Arm(c1); err != nil {
		t.Fatal(err)
	}
	first := d.until
	if left := time.Until(first); left < d.timeout {
		t.Fatalf("deadline %v away, want at least the timeout %v", left, d.timeout)
	}
	if err := d.Arm(c1); err != nil || d.until != first {
		t.Fatalf("second Arm moved the deadline from %v to %v (%v)", first, d.until, err)
	}
	if _, err := c1.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("blocked write returned %v, want a deadline error", err)
	}
}
