package source

import (
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// statusInput is everything the standby status policy looks at. The
// reporter gathers it; decideStatus, a pure function, decides.
type statusInput struct {
	// Floor is the position the session started from: already confirmed
	// to the server, so never report less.
	Floor pipeline.LSN
	// Confirmed is Progress.Confirmed(): the end of the newest transaction
	// that, with every one before it, all sinks acknowledged.
	Confirmed pipeline.LSN
	// Idle is Progress.Idle(): nothing the source wrote is in flight. It
	// must be read after WALEnd (see WALEnd).
	Idle bool
	// InTxn reports that the reader is inside a transaction.
	InTxn bool
	// WALEnd is the server's WAL end from its last keepalive that arrived
	// between transactions: every transaction that commits before it was
	// already written to the pipeline when it was stored. Read before Idle,
	// an Idle true then covers every one of those transactions.
	WALEnd pipeline.LSN
	// Sent and SentAt are the last position reported and when (zero before
	// the first report of the session).
	Sent   pipeline.LSN
	SentAt time.Time
	// Now is the time of the decision; Interval is source.status_interval,
	// the longest silence allowed.
	Now      time.Time
	Interval time.Duration
	// Reply is set when the server asked for a reply (a keepalive with
	// the reply flag) or when this is the session's final report.
	Reply bool
}

// decideStatus returns the position that may be reported as written,
// flushed and applied, and whether to send a standby status update now.
//
// The position is the confirmed one, never below the floor or what was
// already reported. When nothing is in flight and no transaction is open,
// it is the server's WAL end from the last keepalive, so that an idle or
// fully filtered slot holds no WAL. It is never more than that: no
// transaction that is not fully acknowledged is ever confirmed.
//
// An update is sent when the server asked (or at the end), when the
// position advanced, and otherwise once every Interval.
func decideStatus(in statusInput) (pipeline.LSN, bool) {
	pos := max(in.Floor, in.Confirmed)
	if in.Idle && !in.InTxn {
		pos = max(pos, in.WALEnd)
	}
	// What was reported was safe when reported and stays safe.
	pos = max(pos, in.Sent)
	send := in.Reply || pos != in.Sent || in.SentAt.IsZero() || in.Now.Sub(in.SentAt) >= in.Interval
	return pos, send
}
