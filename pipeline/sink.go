package pipeline

import "context"

// Sink delivers events somewhere. The pipeline owns each sink's inbox, a
// bounded channel, and fans batches into it in commit order.
type Sink interface {
	// Name identifies the sink in logs, metrics and errors.
	Name() string
	// Run consumes batches from in, in order, and calls Ack on each one
	// exactly once when done with it (see Batch). It returns nil after in is
	// closed and every batch it received is acknowledged. A returned error is
	// fatal: the pipeline stops, and what was not acknowledged is re-read
	// after a restart. Cancelling ctx means "stop now, abandon what is not
	// done": Run returns promptly. Run is called once.
	Run(ctx context.Context, in <-chan *Batch) error
}

// Readier is implemented by sinks that can tell whether they are ready to
// serve (for /readyz). A sink without it is ready while Run runs.
type Readier interface {
	Ready() bool
}

// Transform rewrites or drops events. Apply returns the event to keep (e
// itself, or a modified copy made with Clone) or nil to drop it. Apply must
// not modify e, may be called concurrently for different sinks, and does not
// block.
type Transform interface {
	Apply(e *Event) *Event
}

// TransformFunc adapts a function to Transform.
type TransformFunc func(*Event) *Event

// Apply calls f(e).
func (f TransformFunc) Apply(e *Event) *Event { return f(e) }

// Chain applies transforms in order, stopping at the first that drops the
// event. A nil or empty Chain keeps every event.
type Chain []Transform

// Apply implements Transform.
func (c Chain) Apply(e *Event) *Event {
	for _, t := range c {
		if e = t.Apply(e); e == nil {
			return nil
		}
	}
	return e
}
