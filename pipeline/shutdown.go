package pipeline

import (
	"context"
	"sync"
	"time"
)

// Shutdown is the one clock of a graceful shutdown. Begin starts it, and
// Context ends Timeout after the first Begin. Every stage that finishes
// work during a shutdown bounds its wait with Context: the ack tracker's
// Drain, the sinks (their Run context), and the HTTP server's last
// streams. So a shutdown takes at most Timeout, however many stages it
// passes through, and no stage has a clock of its own.
//
// Its methods are safe for concurrent use. Release frees its timer once
// nothing waits on it any more.
type Shutdown struct {
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelFunc
	once    sync.Once
	mu      sync.Mutex
	timer   *time.Timer
}

// NewShutdown returns a shutdown clock of timeout (at least a millisecond).
func NewShutdown(timeout time.Duration) *Shutdown {
	ctx, cancel := context.WithCancel(context.Background())
	return &Shutdown{timeout: max(timeout, time.Millisecond), ctx: ctx, cancel: cancel}
}

// Begin starts the clock; calls after the first do nothing.
func (s *Shutdown) Begin() {
	s.once.Do(func() {
		s.mu.Lock()
		s.timer = time.AfterFunc(s.timeout, s.cancel)
		s.mu.Unlock()
	})
}

// BeginWhen starts the clock when ctx ends. The returned function stops
// waiting for ctx.
func (s *Shutdown) BeginWhen(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, s.Begin)
}

// Context ends Timeout after Begin: when it ends, whatever is not done is
// abandoned.
func (s *Shutdown) Context() context.Context { return s.ctx }

// Timeout is the time a shutdown may take.
func (s *Shutdown) Timeout() time.Duration { return s.timeout }

// Release ends Context at once and stops the timer.
func (s *Shutdown) Release() {
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.cancel()
}
