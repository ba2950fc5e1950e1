package hub

import (
	"context"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Consume is the Run loop of a broadcast sink (pipeline.Sink.Run): it
// publishes each batch and acknowledges it at once, because a broadcast
// sink is done with an event as soon as it is in the replay buffer
// (ARCHITECTURE §3). Every second it ages out old events and samples the
// queue-depth gauge, and every heartbeat it closes the Beat channel.
//
// When in is closed it closes the hub gracefully (clients receive what was
// published, then their streams end cleanly) and waits until every client
// has left or ctx ends, whichever is first; then it aborts whatever
// remains and returns nil. The drain has no clock of its own: the caller
// (the pipeline) cancels ctx at its drain deadline. When ctx ends before
// in is closed, Consume aborts at once and returns nil: every batch it
// received was already acknowledged.
func (h *Hub) Consume(ctx context.Context, in <-chan *pipeline.Batch) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	beat := time.NewTicker(h.heartbeat)
	defer beat.Stop()
	for {
		select {
		case b, ok := <-in:
			if !ok {
				h.log.Info("input closed: ending client streams")
				h.Close()
				h.waitIdle(ctx)
				return nil
			}
			h.Publish(b.Events)
			b.Ack()
		case <-beat.C:
			h.tick()
		case <-tick.C:
			h.Expire()
			h.met.queueDepth.Set(float64(h.maxPending()))
		case <-ctx.Done():
			h.Abort()
			return nil
		}
	}
}

// waitIdle waits for every client to leave or ctx to end, then aborts
// stragglers.
func (h *Hub) waitIdle(ctx context.Context) {
	select {
	case <-h.idle:
	case <-ctx.Done():
		if n := h.Stats().Clients; n > 0 {
			h.log.Warn("clients did not finish before the drain deadline: closing them", "clients", n)
		}
	}
	h.Abort()
}
