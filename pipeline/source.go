package pipeline

import "context"

// Source produces committed changes in commit order.
type Source interface {
	// Run reads changes and writes them to w as batches, in commit order,
	// until ctx is cancelled or a fatal error occurs. It learns what is safe
	// to confirm upstream only from p. On cancellation it stops reading,
	// waits for p.Drain, confirms p.Confirmed() one last time, and returns
	// nil. Run is called once.
	Run(ctx context.Context, w Writer, p Progress) error
}

// Writer accepts batches from a Source.
type Writer interface {
	// Write hands the batch to the pipeline, which now owns it. It blocks
	// while the pipeline is full (backpressure) and returns ctx.Err() if
	// ctx ends first, in which case the batch was not taken.
	Write(ctx context.Context, b *Batch) error
}

// Progress reports acknowledged progress to a Source. Its methods are safe
// for concurrent use and never block, except Drain.
type Progress interface {
	// Confirmed returns the newest position whose transaction, and every
	// one before it, every sink has acknowledged; zero if none yet.
	Confirmed() LSN
	// Idle reports whether nothing the source wrote is still in flight.
	Idle() bool
	// Drain waits until everything written so far is acknowledged, or until
	// the pipeline's drain timeout passes or ctx ends. It reports whether
	// everything was acknowledged.
	Drain(ctx context.Context) bool
}
