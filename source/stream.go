package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgcdc/pgcdc/pipeline"
)

// stream is one streaming session. Two goroutines share the connection,
// each in one direction: the reader receives and decodes messages and
// writes batches into the pipeline (blocking under backpressure); the
// reporter is the only one that writes to the connection, sending the
// standby status updates that decideStatus decides (checked every tick and
// at once when the server asks). Keeping status updates off the reader
// means they continue while the pipeline makes the reader wait, so the
// server's wal_sender_timeout never fires because a sink is slow. pgconn's
// read and write paths are independent buffers, so one reader and one
// writer may use them at once; nothing else touches the connection while
// the session runs.
type stream struct {
	s     *Source
	conn  *pgconn.PgConn
	p     pipeline.Progress
	dec   *decoder
	floor pipeline.LSN // never report less than this

	// Shared between reader and reporter.
	inTxn     atomic.Bool   // the reader is inside a transaction
	walEnd    atomic.Uint64 // server WAL end from a keepalive between transactions
	serverEnd atomic.Uint64 // the server's WAL end from its last message, for lag
	kick      chan struct{} // the server asked for a reply
	commits   commitLog     // recent commit times, for the lag in seconds

	// Owned by the reporter.
	send     func(pos pipeline.LSN, now time.Time) error // one standby status update
	sent     pipeline.LSN
	lastSend time.Time
}

func newStream(s *Source, conn *pgconn.PgConn, p pipeline.Progress, floor pipeline.LSN) *stream {
	st := &stream{s: s, conn: conn, p: p, floor: floor, sent: floor, kick: make(chan struct{}, 1),
		dec: newDecoder(s.types, s.cfg.BatchEvents)}
	st.send = func(pos pipeline.LSN, now time.Time) error { return sendStandbyStatus(conn, pos, now) }
	st.dec.onRel = s.cat.fromRelation
	st.dec.primaryKey = s.primaryKey
	st.dec.snap = s.snap
	s.snap.onAbort() // a transaction cut by the last session is read again
	return st
}

// run streams until ctx ends, the stop position is reached, or an error.
// On ctx or the stop position it drains the pipeline while the reporter
// keeps the connection alive, then sends the final status.
func (st *stream) run(ctx context.Context, w pipeline.Writer, emitted *pipeline.LSN) error {
	stop := make(chan struct{})
	reporterDone := make(chan error, 1)
	go func() { reporterDone <- st.report(stop) }()
	err := st.read(ctx, w, emitted)
	if ctx.Err() != nil || errors.Is(err, errStopAt) {
		drained := st.p.Drain(context.Background())
		close(stop)
		if rerr := <-reporterDone; rerr != nil {
			st.s.log.Warn("final standby status failed", "err", rerr)
		} else {
			st.s.log.Info("stopped", "confirmed", st.sent, "drained", drained)
		}
		return err
	}
	close(stop)
	<-reporterDone
	return err
}

// tick is how often the reporter checks for progress: confirmations reach
// the server at most this long after the pipeline made them.
const tick = 100 * time.Millisecond

// report sends standby status updates until stop is closed, then sends a
// final one. It returns the error of that final update, or of the first
// failed one (the reader will see the broken connection too). What to send
// and when is decideStatus's; report only gathers its inputs on each tick
// and each request of the server.
func (st *stream) report(stop <-chan struct{}) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return st.sendStatus(true)
		case <-st.kick:
			if err := st.sendStatus(true); err != nil {
				return err
			}
		case <-t.C:
			if err := st.sendStatus(false); err != nil {
				return err
			}
		}
	}
}

// sendStatus asks decideStatus and sends what it decides. reply is set
// when the server asked for an answer or the session ends.
func (st *stream) sendStatus(reply bool) error {
	// WALEnd first, then Idle: see statusInput.WALEnd.
	walEnd := pipeline.LSN(st.walEnd.Load())
	in := statusInput{Floor: st.floor, Confirmed: st.p.Confirmed(), WALEnd: walEnd,
		InTxn: st.inTxn.Load(), Idle: st.p.Idle(),
		Sent: st.sent, SentAt: st.lastSend, Now: time.Now(), Interval: st.s.cfg.StatusInterval, Reply: reply}
	pos, send := decideStatus(in)
	if !send {
		return nil
	}
	if err := st.send(pos, in.Now); err != nil {
		return fmt.Errorf("send standby status: %w", err)
	}
	if pos != st.sent {
		st.s.log.Debug("confirmed", "lsn", pos)
	}
	st.sent, st.lastSend = pos, in.Now
	st.s.confirmed.Store(uint64(pos))
	st.observe(pos, in.Now)
	return nil
}

// sendStandbyStatus reports pos as written, flushed and applied: all three
// set explicitly, since pglogrepl would fill zeros with the write
// position.
func sendStandbyStatus(conn *pgconn.PgConn, pos pipeline.LSN, now time.Time) error {
	return pglogrepl.SendStandbyStatusUpdate(context.Background(), conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: pglogrepl.LSN(pos), WALFlushPosition: pglogrepl.LSN(pos),
		WALApplyPosition: pglogrepl.LSN(pos), ClientTime: now})
}

// observe updates the lag metrics after reporting pos.
func (st *stream) observe(pos pipeline.LSN, now time.Time) {
	metricConfirmed.Set(float64(pos))
	end := pipeline.LSN(st.serverEnd.Load())
	metricServerEnd.Set(float64(end))
	if end > pos {
		metricLagBytes.Set(float64(end - pos))
	} else {
		metricLagBytes.Set(0)
	}
	if st.p.Idle() {
		metricLagSeconds.Set(0)
	} else if ct := st.commits.oldestAfter(pos); !ct.IsZero() {
		metricLagSeconds.Set(now.Sub(ct).Seconds())
	}
}

// read receives messages until ctx ends or an error.
func (st *stream) read(ctx context.Context, w pipeline.Writer, emitted *pipeline.LSN) error {
	raw := st.conn.Conn()
	// One watcher wakes the blocked read when ctx ends.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = raw.SetReadDeadline(time.Now())
		case <-done:
		}
	}()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg, err := st.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("receive from slot %q: %w", st.s.cfg.Slot, st.s.classify(err))
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := st.copyData(ctx, w, m.Data, emitted); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication on slot %q: %w", st.s.cfg.Slot, st.s.classify(pgconn.ErrorResponseToPgError(m)))
		case *pgproto3.CopyDone:
			return fmt.Errorf("server ended replication on slot %q", st.s.cfg.Slot)
		}
	}
}

func (st *stream) copyData(ctx context.Context, w pipeline.Writer, data []byte, emitted *pipeline.LSN) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parse keepalive: %w", err)
		}
		end := pipeline.LSN(ka.ServerWALEnd)
		st.serverWALEnd(end)
		if !st.dec.inTxn {
			st.walEnd.Store(max(st.walEnd.Load(), uint64(end)))
			if stop := st.s.cfg.StopAt; stop != 0 && end >= stop {
				return errStopAt
			}
		}
		if ka.ReplyRequested {
			select {
			case st.kick <- struct{}{}:
			default:
			}
		}
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parse XLogData: %w", err)
		}
		st.serverWALEnd(pipeline.LSN(x.ServerWALEnd))
		// Streaming of in-progress transactions is never requested, so
		// protocol 2 messages have exactly the protocol 1 layout.
		batches, err := st.dec.handleData(ctx, x.WALData)
		st.inTxn.Store(st.dec.inTxn)
		if err != nil {
			err = fmt.Errorf("decode pgoutput message %s: %w", st.where(pipeline.LSN(x.WALStart), *emitted), err)
			if isLookup(err) {
				return err // the database could not be asked: reconnect and retry
			}
			return &FatalError{err}
		}
		for _, b := range batches {
			if b.End != 0 {
				st.commits.add(b.End, st.dec.lastCommitTime)
			}
			if err := w.Write(ctx, b); err != nil {
				return err
			}
			if b.End != 0 {
				*emitted = b.End
				metricTxns.Inc()
				if stop := st.s.cfg.StopAt; stop != 0 && b.End >= stop {
					return errStopAt
				}
			}
		}
	}
	return nil
}

// serverWALEnd records the server's WAL end from one of its messages: the
// most it said in this session (a new session may talk to a server whose
// WAL is elsewhere, e.g. restored from a backup).
func (st *stream) serverWALEnd(end pipeline.LSN) {
	if end > pipeline.LSN(st.serverEnd.Load()) {
		st.serverEnd.Store(uint64(end))
		st.s.walEnd.Store(uint64(end))
	}
}

// where names the position of a message for an error. pgoutput sends some
// messages (a Relation message before a transaction's first change) with
// no WAL position, so the transaction is named instead.
func (st *stream) where(walStart, emitted pipeline.LSN) string {
	switch {
	case st.dec.inTxn && walStart != 0:
		return fmt.Sprintf("at %s in transaction %d (commit %s)", walStart, st.dec.xid, st.dec.commitLSN)
	case st.dec.inTxn:
		return fmt.Sprintf("in transaction %d (commit %s)", st.dec.xid, st.dec.commitLSN)
	case walStart != 0:
		return "at " + walStart.String()
	default:
		return "after " + emitted.String()
	}
}

// commitLog is a small ring of (end position, commit time) of recent
// transactions, so that the lag in seconds can be told from a confirmed
// position. The reader adds; the reporter reads.
type commitLog struct {
	mu    sync.Mutex
	ends  [256]pipeline.LSN
	times [256]time.Time
	next  int
}

func (c *commitLog) add(end pipeline.LSN, t time.Time) {
	c.mu.Lock()
	c.ends[c.next%len(c.ends)] = end
	c.times[c.next%len(c.times)] = t
	c.next++
	c.mu.Unlock()
}

// oldestAfter returns the commit time of the oldest remembered
// transaction that ends after pos: the oldest change still in flight. With
// more transactions in flight than the ring holds it underestimates.
func (c *commitLog) oldestAfter(pos pipeline.LSN) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest time.Time
	for i := range min(c.next, len(c.ends)) {
		idx := (c.next - 1 - i) % len(c.ends)
		if c.ends[idx] > pos {
			oldest = c.times[idx]
		}
	}
	return oldest
}
