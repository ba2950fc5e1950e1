package nats

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/pipeline"
)

// ResetError says that a client's last event id cannot be resumed from
// the stream: it must reload its state (the live sinks send "reset").
type ResetError struct{ Reason string }

func (e *ResetError) Error() string { return "cannot resume: " + e.Reason }

// IsReset reports whether err is a ResetError.
func IsReset(err error) bool {
	var r *ResetError
	return errors.As(err, &r)
}

// Reader finds and reads events in the stream by event id, far beyond a
// live sink's in-memory replay ring. It is safe for concurrent use.
type Reader struct {
	st  jetstream.Stream
	cat pipeline.Catalog
}

// NewReader returns a Reader of st; cat gives column kinds (may be nil).
func NewReader(st jetstream.Stream, cat pipeline.Catalog) *Reader {
	return &Reader{st: st, cat: cat}
}

// Seek returns the stream sequence of the first message whose event id
// is above afterID (the stream's last sequence + 1 when there is none
// yet), by binary search over direct gets: O(log n) requests. It returns
// a ResetError when afterID is older than the stream's first message
// (the events between were dropped by the stream's limits, or never in
// it) or newer than its last (the id is from another history of the
// stream: another epoch).
func (r *Reader) Seek(ctx context.Context, afterID string) (uint64, error) {
	aLSN, aSeq, err := pipeline.ParseID(afterID)
	if err != nil {
		return 0, err
	}
	info, err := r.st.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read stream info: %w", err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	if info.State.Msgs == 0 {
		return 0, &ResetError{Reason: "the stream holds no events"}
	}
	above := func(seq uint64) (bool, uint64, error) {
		m, err := r.st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
		if err != nil {
			return false, 0, fmt.Errorf("read message %d: %w", seq, err)
		}
		lsn, n, err := pipeline.ParseID(m.Header.Get(jetstream.MsgIDHeader))
		if err != nil {
			return false, 0, fmt.Errorf("message %d: %w", m.Sequence, err)
		}
		return lsn > aLSN || lsn == aLSN && n > aSeq, m.Sequence, nil
	}
	ok, _, err := above(first)
	if err != nil {
		return 0, err
	}
	if ok {
		return 0, &ResetError{Reason: fmt.Sprintf("event %s is older than the stream's first event", afterID)}
	}
	// The stream's last message: is afterID beyond it?
	lastAbove, _, err := r.lastAbove(ctx, last, aLSN, aSeq)
	if err != nil {
		return 0, err
	}
	if lastAbove {
		return 0, &ResetError{Reason: fmt.Sprintf("event %s is newer than the stream's last event (another epoch of the stream)", afterID)}
	}
	lo, hi := first, last+1 // the answer is in [lo, hi]; hi = none
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, _, err := above(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// lastAbove reports whether afterID sorts after the stream's newest
// message.
func (r *Reader) lastAbove(ctx context.Context, last uint64, aLSN pipeline.LSN, aSeq uint32) (bool, uint64, error) {
	for seq := last; seq > 0; seq-- {
		m, err := r.st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return false, 0, fmt.Errorf("read message %d: %w", seq, err)
		}
		lsn, n, err := pipeline.ParseID(m.Header.Get(jetstream.MsgIDHeader))
		if err != nil {
			return false, 0, fmt.Errorf("message %d: %w", seq, err)
		}
		return aLSN > lsn || aLSN == lsn && aSeq > n, seq, nil
	}
	return false, 0, nil
}

// Backfill calls fn, in order, with each event after afterID and before
// beforeID ("" reads to the stream's end as it is when Backfill starts).
// It is what a live sink's hub asks when a client resumes from an id its
// ring no longer holds: the events between that id and the ring's oldest.
// It returns a ResetError as Seek does, and fn's first error.
func (r *Reader) Backfill(ctx context.Context, afterID, beforeID string, fn func(*pipeline.Event) error) error {
	seq, err := r.Seek(ctx, afterID)
	if err != nil {
		return err
	}
	var bLSN pipeline.LSN
	var bSeq uint32
	if beforeID != "" {
		if bLSN, bSeq, err = pipeline.ParseID(beforeID); err != nil {
			return err
		}
	}
	info, err := r.st.Info(ctx)
	if err != nil {
		return fmt.Errorf("read stream info: %w", err)
	}
	end := info.State.LastSeq
	if seq > end {
		return nil
	}
	cons, err := r.st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: seq})
	if err != nil {
		return fmt.Errorf("read the stream from %d: %w", seq, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read the stream from %d: %w", seq, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read the stream: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		e, err := DecodeEvent(m.Data(), r.cat)
		if err != nil {
			return fmt.Errorf("message %d: %w", meta.Sequence.Stream, err)
		}
		if beforeID != "" && (e.CommitLSN > bLSN || e.CommitLSN == bLSN && e.Seq >= bSeq) {
			return nil
		}
		if err := fn(e); err != nil {
			return err
		}
		if meta.Sequence.Stream >= end {
			return nil
		}
	}
}
