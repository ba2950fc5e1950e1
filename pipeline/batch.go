package pipeline

import "sync/atomic"

// Batch is a run of consecutive events from one transaction, in commit
// order. A transaction arrives as one or more batches; the last one carries
// the transaction's End position. Large transactions are split so that no
// transaction is ever held whole in memory.
//
// The ack travels with the batch: whoever receives a Batch must call Ack
// exactly once, when it is done with every event in it (a durable sink:
// delivered; a broadcast sink: in its replay buffer). A batch whose events
// were all filtered out must still be acknowledged.
type Batch struct {
	Events []*Event
	// End is the position to confirm upstream once this batch and every
	// batch before it are acknowledged: for PostgreSQL the end LSN of the
	// commit record. It is zero for a batch that does not end a transaction.
	End LSN
	// Bytes is the approximate memory the batch holds, for the byte budget.
	Bytes int

	ack  func()
	done atomic.Bool
}

// NewBatch returns a batch that calls ack (which may be nil) when
// acknowledged.
func NewBatch(events []*Event, end LSN, ack func()) *Batch {
	return &Batch{Events: events, End: end, ack: ack}
}

// Ack acknowledges the batch. Calls after the first are ignored, so a sink
// that is unsure may call it again safely; it is safe for concurrent use.
func (b *Batch) Ack() {
	if b.done.CompareAndSwap(false, true) && b.ack != nil {
		b.ack()
	}
}

// Acked reports whether Ack has been called.
func (b *Batch) Acked() bool { return b.done.Load() }
