package source

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Snapshots use the DBLog method. For each chunk the worker (the SQL side,
// snapshot_worker.go) writes a low watermark into the WAL, reads the chunk
// (the next rows in key order), hands the rows to the coordinator, and
// writes a high watermark. The slot reader sees the two watermarks as
// logical decoding messages, in commit order with every change:
//
//   - from the moment the chunk is registered (before its low watermark)
//     to the high watermark, a change to a key of the chunk's table marks
//     that key: the chunk's read of it may be older or newer than the
//     change, but the change itself carries the row as it is after it, so
//     the read is dropped;
//   - at the high watermark, the rest of the chunk is emitted as read
//     events inside the watermark's transaction: their ids sort at its
//     commit position, after every change committed before it and before
//     every change after it, and they are confirmed with it.
//
// A read is therefore never older than a change already delivered for the
// same key, and there is no gap: a key read before the low watermark and
// changed before the high one is delivered by its change, and any other
// key of the chunk by its read.
//
// WAL order is not visibility order. A committing backend writes its
// commit record, waits for the flush (and, with synchronous replication,
// for a standby), and only then leaves the proc array: for that time its
// transaction is in the WAL, may already be decoded and delivered, and
// is still invisible to a new snapshot. A chunk read then would carry the
// row as it was before, although its commit precedes the low watermark.
// Two rules close this. Changes are marked from registration, not from
// the low watermark, so a transaction decoded after registration drops
// the read whatever its visibility. For those decoded before it, the
// reader keeps the ids of the last transactions it began decoding
// (recentXids); the worker reads the chunk in a REPEATABLE READ
// transaction whose snapshot (pg_current_snapshot) must see every one of
// them, and takes a new snapshot until it does (snapWorker.readSnapshot).
// The chunk thus reflects every transaction decoded before registration,
// and any later one is marked. A change that does not carry the paging
// key (it cannot happen with the keys planTable chooses, but a table can
// change under a running snapshot) poisons the chunk: it is read again. A
// change that leaves a TOASTed value out (unchanged_toast) cannot stand in
// for the read, which has the value: its key is read again, alone, in a
// chunk of its own.

// Watermark kinds.
const (
	wmLow     = "low"
	wmHigh    = "high"
	wmRequest = "request"
)

// watermark is the content of a pgcdc logical decoding message.
type watermark struct {
	Kind  string `json:"kind"`
	Slot  string `json:"slot"`
	Job   string `json:"job,omitempty"`
	Chunk int    `json:"chunk,omitempty"`
	// Run tells apart the chunks of this process from watermarks of a
	// process that crashed (the same job and chunk number, read again
	// after the restart).
	Run  string `json:"run,omitempty"`
	Last bool   `json:"last,omitempty"`
}

// emitMessage writes w into the WAL in a transaction of its own.
func emitMessage(ctx context.Context, conn *pgx.Conn, w watermark) error {
	b, _ := json.Marshal(w)
	if _, err := conn.Exec(ctx, `SELECT pg_logical_emit_message(true, $1, $2)`, watermarkPrefix, string(b)); err != nil {
		return fmt.Errorf("write a snapshot %s watermark: %w", w.Kind, explainSQLError(err))
	}
	return nil
}

// pendingChunk is a chunk the worker read and the reader has not emitted.
type pendingChunk struct {
	job      *snapJob
	n        int
	run      string
	table    string   // schema.table
	keyCols  []string // the paging key
	rows     *chunkRows
	last     bool
	marker   pipeline.Op                // a start or end marker: emits that event alone
	keep     func(*pipeline.Event) bool // the job's row filter; nil keeps every row
	changed  map[string]bool
	reread   map[string]bool // keys whose change lacks a TOASTed value
	poisoned bool            // a change whose key could not be told
	open     bool            // the low watermark was seen
	// Set when the high watermark's transaction committed.
	done chan struct{}
	end  pipeline.LSN
	// decoded holds the transactions the reader began decoding before
	// registration (the newest recentXids): the chunk's read must see
	// them all.
	decoded []uint32
	emitted int
	dropped int
	closed  bool
}

// snapCoord is the reader's side of snapshots. The worker registers a
// chunk before it writes the low watermark and gives it its rows before
// it writes the high one; the reader (one goroutine) marks changed keys
// and emits the chunk. It lives as long as the Source, across reconnects:
// a transaction read again after a reconnect finds the same state and
// emits the same events.
type snapCoord struct {
	slot     string
	mu       sync.Mutex
	chunks   map[string]*pendingChunk   // by job/run/chunk
	byTable  map[string][]*pendingChunk // the chunks registered and not yet emitted, by table
	requests chan string                // job ids requested through the WAL
	// inTxn is the chunk whose high watermark is in the transaction being
	// decoded (reader-owned).
	inTxn *pendingChunk
	// recent is a ring of the ids of the last transactions the reader
	// began decoding; recentN counts them all.
	recentMu sync.Mutex
	recent   []uint32
	recentN  uint64
}

// recentXids is how many decoded transactions a chunk's read is checked
// against. A transaction still invisible to new snapshots after this many
// later ones were decoded would be missed (a backend stalled that long
// between its commit record and leaving the proc array); at 10,000
// transactions a second that is 0.8 s.
const recentXids = 8192

func newSnapCoord(slot string) *snapCoord {
	return &snapCoord{slot: slot, chunks: map[string]*pendingChunk{}, byTable: map[string][]*pendingChunk{},
		requests: make(chan string, 64), recent: make([]uint32, recentXids)}
}

func chunkID(job, run string, n int) string { return fmt.Sprintf("%s/%s/%d", job, run, n) }

// register announces a chunk before its low watermark is written: from
// now on the reader marks the changes to its table, and pc.decoded holds
// the transactions it began decoding before.
func (c *snapCoord) register(pc *pendingChunk) {
	pc.done = make(chan struct{})
	pc.changed, pc.reread = map[string]bool{}, map[string]bool{}
	c.mu.Lock()
	c.chunks[chunkID(pc.job.id, pc.run, pc.n)] = pc
	c.byTable[pc.table] = append(c.byTable[pc.table], pc)
	c.mu.Unlock()
	// After the chunk is in byTable: a transaction begun after this copy
	// has all its changes marked.
	c.recentMu.Lock()
	n := min(c.recentN, uint64(len(c.recent)))
	pc.decoded = make([]uint32, 0, n)
	for i := c.recentN - n; i < c.recentN; i++ {
		pc.decoded = append(pc.decoded, c.recent[i%uint64(len(c.recent))])
	}
	c.recentMu.Unlock()
}

// onBegin records the id of a transaction the reader begins decoding.
func (c *snapCoord) onBegin(xid uint32) {
	c.recentMu.Lock()
	c.recent[c.recentN%uint64(len(c.recent))] = xid
	c.recentN++
	c.recentMu.Unlock()
}

// fill gives a registered chunk its rows, before its high watermark is
// written.
func (c *snapCoord) fill(pc *pendingChunk, rows *chunkRows, last bool) {
	c.mu.Lock()
	pc.rows, pc.last = rows, last
	c.mu.Unlock()
}

// forget drops a chunk the worker gave up on.
func (c *snapCoord) forget(pc *pendingChunk) {
	c.mu.Lock()
	delete(c.chunks, chunkID(pc.job.id, pc.run, pc.n))
	c.close(pc)
	c.mu.Unlock()
}

// close takes pc out of its table's open chunks; c.mu is held.
func (c *snapCoord) close(pc *pendingChunk) {
	open := c.byTable[pc.table]
	for i, o := range open {
		if o == pc {
			open = append(open[:i], open[i+1:]...)
			break
		}
	}
	if len(open) == 0 {
		delete(c.byTable, pc.table)
	} else {
		c.byTable[pc.table] = open
	}
}

// active reports whether any chunk is registered, so that the reader
// skips the per-change lookup otherwise.
func (c *snapCoord) active() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byTable) > 0
}

// onChange marks the key of a change to a table with an open chunk.
func (c *snapCoord) onChange(ev *pipeline.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, pc := range c.byTable[ev.Schema+"."+ev.Table] {
		pc.onChange(ev)
	}
}

// onChange marks the key of a change to the chunk's table; c.mu is held.
func (pc *pendingChunk) onChange(ev *pipeline.Event) {
	mark := func(r pipeline.Row) {
		k, ok := matchKeyOf(pc.keyCols, r)
		if !ok {
			pc.poisoned = true
			return
		}
		pc.changed[k] = true
		if len(ev.UnchangedToast) > 0 && ev.Op == pipeline.OpUpdate {
			pc.reread[k] = true
		}
	}
	switch ev.Op {
	case pipeline.OpInsert:
		mark(ev.After)
	case pipeline.OpUpdate:
		mark(ev.After)
		if ev.Before != nil {
			if k, ok := matchKeyOf(pc.keyCols, ev.Before); ok {
				pc.changed[k] = true // the key itself changed: the old one too
			}
		}
	case pipeline.OpDelete:
		old := ev.Before
		if old == nil {
			old = ev.Key
		}
		mark(old)
	case pipeline.OpTruncate:
		pc.poisoned = true // every read of the chunk may be gone
	}
}

// onMessage handles a pgcdc logical decoding message of the transaction
// being decoded and returns the events it emits (at a high watermark).
func (c *snapCoord) onMessage(content []byte) ([]*pipeline.Event, error) {
	var w watermark
	if err := json.Unmarshal(content, &w); err != nil || w.Slot != c.slot {
		return nil, nil // another slot's, or not ours to read
	}
	switch w.Kind {
	case wmRequest:
		select {
		case c.requests <- w.Job:
		default: // the worker is busy: it reads the table when it is done
		}
		return nil, nil
	case wmLow:
		c.mu.Lock()
		defer c.mu.Unlock()
		pc := c.chunks[chunkID(w.Job, w.Run, w.Chunk)]
		if pc == nil || pc.open {
			return nil, nil // a crashed run's, or read again after a reconnect
		}
		pc.open = true
		return nil, nil
	case wmHigh:
		c.mu.Lock()
		defer c.mu.Unlock()
		pc := c.chunks[chunkID(w.Job, w.Run, w.Chunk)]
		if pc == nil || !pc.open {
			return nil, nil
		}
		c.close(pc)
		c.inTxn = pc
		return pc.events(), nil
	}
	return nil, nil
}

// onCommit is called at each commit; it completes the chunk whose high
// watermark the transaction held.
func (c *snapCoord) onCommit(end pipeline.LSN) {
	pc := c.inTxn
	if pc == nil {
		return
	}
	c.inTxn = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc.closed {
		return
	}
	pc.closed, pc.end = true, end
	delete(c.chunks, chunkID(pc.job.id, pc.run, pc.n))
	close(pc.done)
}

// onAbort forgets the transaction being decoded (a reconnect): it is read
// again.
func (c *snapCoord) onAbort() { c.inTxn = nil }

// events builds the chunk's events; c.mu is held. Called again for the
// same transaction read again after a reconnect, it builds the same ones.
func (pc *pendingChunk) events() []*pipeline.Event {
	info := func(last bool) *pipeline.SnapshotInfo {
		return &pipeline.SnapshotInfo{ID: pc.job.id, Chunk: pc.n, Last: last}
	}
	pc.emitted, pc.dropped = 0, 0
	if pc.poisoned {
		return nil // the worker reads the chunk again
	}
	mk := func(op pipeline.Op, last bool) *pipeline.Event {
		return &pipeline.Event{Op: op, Schema: pc.job.schema, Table: pc.job.table, Snapshot: info(last), Target: pc.job.sink, Client: pc.job.client}
	}
	if pc.marker != "" {
		return []*pipeline.Event{mk(pc.marker, pc.marker == pipeline.OpSnapshotCompleted)}
	}
	var evs []*pipeline.Event
	for i, r := range pc.rows.rows {
		if len(pc.changed) > 0 && pc.changed[pc.rows.matchKey(i)] {
			pc.dropped++
			continue
		}
		ev := mk(pipeline.OpRead, false)
		ev.After, ev.Key = r.after, r.key
		if pc.keep != nil && !pc.keep(ev) {
			continue
		}
		evs = append(evs, ev)
		pc.emitted++
	}
	return evs
}
