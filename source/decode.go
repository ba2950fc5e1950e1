package source

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/pgcdc/pgcdc/pipeline"
)

// relation is a table as the last Relation message described it.
type relation struct {
	schema, name string
	identity     byte // d default, n nothing, f full, i index
	cols         []relColumn
	hasKey       bool
}

type relColumn struct {
	name string
	key  bool
	conv converter
}

// decoder turns pgoutput messages into batches of events. It is owned by
// the goroutine that reads the replication connection.
type decoder struct {
	rels      map[uint32]*relation
	types     *typeRegistry
	maxEvents int
	onRel     func(*relation) // catalog update, may be nil
	// primaryKey returns the primary key columns of a table by OID; used
	// for REPLICA IDENTITY FULL tables, whose Relation message flags every
	// column as key. Without one (none known, or primaryKey nil) the key
	// of such a table is the whole row.
	primaryKey func(ctx context.Context, relID uint32) ([]string, error)

	inTxn      bool
	commitLSN  pipeline.LSN
	xid        uint32
	commitTime time.Time
	// lastCommitTime is the commit time of the last finished transaction.
	lastCommitTime time.Time
	seq            uint32
	events         []*pipeline.Event
	bytes          int
	chg            change            // scratch for parseChange
	out            []*pipeline.Batch // what handleData returns, reused
	// snap is the reader's side of snapshots (watermarks, changed keys);
	// nil without snapshots.
	snap *snapCoord
}

func newDecoder(types *typeRegistry, maxEvents int) *decoder {
	if maxEvents <= 0 {
		maxEvents = 1024
	}
	return &decoder{rels: map[uint32]*relation{}, types: types, maxEvents: maxEvents}
}

// handleData processes one pgoutput message in its wire form. Row changes,
// the hot path, are parsed here without copying; everything else goes
// through pglogrepl. It returns the batches that are ready, in order: at
// commit, and each time a large transaction fills maxEvents. One message
// may fill several (a TRUNCATE of more tables than maxEvents), so that
// any message is deliverable under any configuration. The slice is valid
// until the next call; data may be reused after it returns.
func (d *decoder) handleData(ctx context.Context, data []byte) ([]*pipeline.Batch, error) {
	d.out = d.out[:0]
	if len(data) == 0 {
		return nil, fmt.Errorf("empty pgoutput message")
	}
	var err error
	switch data[0] {
	case 'I', 'U', 'D':
		if err = parseChange(data, &d.chg); err == nil {
			err = d.change(&d.chg)
		}
	default:
		var msg pglogrepl.Message
		if msg, err = pglogrepl.Parse(data); err == nil {
			err = d.handle(ctx, msg)
		}
	}
	if err != nil {
		return nil, err
	}
	return d.out, nil
}

// change turns a parsed Insert, Update or Delete into an event.
func (d *decoder) change(c *change) error {
	rel, err := d.rel(c.relID)
	if err != nil {
		return err
	}
	if rel.schema == InternalSchema {
		return nil // pgcdc's own tables (snapshot progress) are not changes
	}
	var ev *pipeline.Event
	switch c.op {
	case 'I':
		after, toast := d.row(rel, c.new, false)
		ev = &pipeline.Event{Op: pipeline.OpInsert, After: after, UnchangedToast: toast, Key: keyOf(rel, after, nil)}
	case 'U':
		var before pipeline.Row
		if c.oldKind != 0 {
			before, _ = d.row(rel, c.old, c.oldKind == 'K')
		}
		after, toast := d.row(rel, c.new, false)
		ev = &pipeline.Event{Op: pipeline.OpUpdate, Before: before, After: after,
			UnchangedToast: toast, Key: keyOf(rel, after, before)}
	default:
		var before pipeline.Row
		if c.oldKind != 0 {
			before, _ = d.row(rel, c.old, c.oldKind == 'K')
		}
		ev = &pipeline.Event{Op: pipeline.OpDelete, Before: before, Key: keyOf(rel, before, nil)}
	}
	if err := d.add(ev, rel); err != nil {
		return err
	}
	if d.snap != nil && d.snap.active() {
		d.snap.onChange(ev)
	}
	return nil
}

// handle processes one parsed pgoutput message other than a row change.
func (d *decoder) handle(ctx context.Context, msg pglogrepl.Message) error {
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		if d.inTxn {
			return fmt.Errorf("begin of transaction %d inside transaction %d", m.Xid, d.xid)
		}
		d.inTxn = true
		d.commitLSN = pipeline.LSN(m.FinalLSN)
		d.xid = m.Xid
		d.commitTime = m.CommitTime
		if d.snap != nil {
			d.snap.onBegin(m.Xid)
		}
		d.seq = 0
		d.events = make([]*pipeline.Event, 0, 8)
		d.bytes = 0
	case *pglogrepl.CommitMessage:
		if !d.inTxn {
			return fmt.Errorf("commit at %s outside a transaction", m.CommitLSN)
		}
		d.inTxn = false
		d.lastCommitTime = d.commitTime
		if d.snap != nil {
			d.snap.onCommit(pipeline.LSN(m.TransactionEndLSN))
		}
		b := pipeline.NewBatch(d.events, pipeline.LSN(m.TransactionEndLSN), nil)
		b.Bytes = d.bytes + 64
		d.events, d.bytes = nil, 0
		d.out = append(d.out, b)
	case *pglogrepl.RelationMessage:
		return d.relation(ctx, m)
	case *pglogrepl.TypeMessage:
		// Types are resolved through pg_type when a relation uses them;
		// what the stream says is kept for a type dropped since.
		d.types.fromStream(m.DataType, m.Namespace, m.Name)
	case *pglogrepl.LogicalDecodingMessage:
		// pgcdc's own (snapshot watermarks and requests) may emit reads;
		// other messages are not changes.
		if d.snap == nil || m.Prefix != watermarkPrefix || !m.Transactional || !d.inTxn {
			return nil
		}
		evs, err := d.snap.onMessage(m.Content)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := d.addPrepared(ev); err != nil {
				return err
			}
		}
	case *pglogrepl.OriginMessage:
		// Origins are not changes.
	case *pglogrepl.TruncateMessage:
		tables := make([]string, 0, len(m.RelationIDs))
		rels := make([]*relation, 0, len(m.RelationIDs))
		for _, id := range m.RelationIDs {
			rel, err := d.rel(id)
			if err != nil {
				return err
			}
			rels = append(rels, rel)
			tables = append(tables, rel.schema+"."+rel.name)
		}
		// One event per table; a batch that fills on the way is returned
		// with the others, however many there are.
		for _, rel := range rels {
			if rel.schema == InternalSchema {
				continue
			}
			ev := &pipeline.Event{Op: pipeline.OpTruncate, Tables: tables}
			if err := d.add(ev, rel); err != nil {
				return err
			}
			if d.snap != nil && d.snap.active() {
				d.snap.onChange(ev)
			}
		}
	default:
		// Stream messages never arrive: streaming is not requested.
	}
	return nil
}

func (d *decoder) rel(id uint32) (*relation, error) {
	rel, ok := d.rels[id]
	if !ok {
		return nil, fmt.Errorf("change for relation %d before its Relation message", id)
	}
	return rel, nil
}

func (d *decoder) relation(ctx context.Context, m *pglogrepl.RelationMessage) error {
	rel := &relation{schema: m.Namespace, name: m.RelationName, identity: m.ReplicaIdentity,
		cols: make([]relColumn, len(m.Columns))}
	for i, c := range m.Columns {
		conv, err := d.types.get(ctx, c.DataType)
		if err != nil {
			return &lookupError{fmt.Errorf("relation %s.%s column %s: %w", m.Namespace, m.RelationName, c.Name, err)}
		}
		key := c.Flags&1 != 0
		rel.cols[i] = relColumn{name: c.Name, key: key, conv: conv}
		rel.hasKey = rel.hasKey || key
	}
	if m.ReplicaIdentity == 'f' && d.primaryKey != nil {
		pk, err := d.primaryKey(ctx, m.RelationID)
		if err != nil {
			return &lookupError{fmt.Errorf("relation %s.%s: primary key: %w", m.Namespace, m.RelationName, err)}
		}
		if len(pk) > 0 {
			for i := range rel.cols {
				rel.cols[i].key = slices.Contains(pk, rel.cols[i].name)
			}
		}
	}
	d.rels[m.RelationID] = rel
	if d.onRel != nil {
		d.onRel(rel)
	}
	return nil
}

// add appends ev to the current transaction and, when maxEvents is
// reached, the full batch to d.out.
func (d *decoder) add(ev *pipeline.Event, rel *relation) error {
	if !d.inTxn {
		return fmt.Errorf("%s change for %s.%s outside a transaction", ev.Op, rel.schema, rel.name)
	}
	ev.Schema, ev.Table = rel.schema, rel.name
	return d.addPrepared(ev)
}

// addPrepared is add for an event whose table is set (a snapshot's read).
func (d *decoder) addPrepared(ev *pipeline.Event) error {
	ev.CommitLSN, ev.XID, ev.CommitTime, ev.Seq = d.commitLSN, d.xid, d.commitTime, d.seq
	d.seq++
	d.events = append(d.events, ev)
	d.bytes += eventSize(ev)
	if len(d.events) < d.maxEvents {
		return nil
	}
	b := pipeline.NewBatch(d.events, 0, nil)
	b.Bytes = d.bytes
	d.events = make([]*pipeline.Event, 0, d.maxEvents)
	d.bytes = 0
	d.out = append(d.out, b)
	return nil
}

// row decodes a tuple. keyOnly keeps only replica identity columns (an old
// tuple of type 'K', whose other columns the server sends as NULL).
// Unchanged TOAST values are left out and their names returned.
func (d *decoder) row(rel *relation, cols []tupleCol, keyOnly bool) (pipeline.Row, []string) {
	n := len(cols)
	if n > len(rel.cols) {
		n = len(rel.cols) // a column added after the Relation message; cannot name it
	}
	size := 0
	for i := 0; i < n; i++ {
		size += encodedSize(rel.cols[i].conv.kind, len(cols[i].data))
	}
	buf := make([]byte, 0, size)
	row := make(pipeline.Row, 0, n)
	ends := make([]int, 0, n)
	var toast []string
	for i := 0; i < n; i++ {
		rc := rel.cols[i]
		if keyOnly && !rc.key {
			continue
		}
		tc := cols[i]
		switch tc.kind {
		case 'u':
			toast = append(toast, rc.name)
			continue
		case 'n':
			buf = append(buf, "null"...)
		case 't':
			buf = rc.conv.encode(buf, tc.data)
		default: // binary: never requested; keep it lossless anyway
			buf = appendBytea(buf, fmt.Appendf([]byte(`\x`), "%x", tc.data))
		}
		row = append(row, pipeline.Column{Name: rc.name, Kind: rc.conv.kind})
		ends = append(ends, len(buf))
	}
	start := 0
	for i := range row {
		row[i].Value = buf[start:ends[i]:ends[i]]
		start = ends[i]
	}
	return row, toast
}

// encodedSize estimates the JSON of a value whose text form is n bytes, so
// that a row's values fit the buffer allocated for them: bytea's hex text
// (\x + 2 digits a byte) becomes base64 (4 characters per 3 bytes), about
// two thirds of it; other text becomes itself, quoted, with room for a few
// escapes. An estimate too small only costs a copy; one too large holds
// memory while the event is in flight (the old estimate, 4/3 of every
// value, held 1.3 GB for a 1 GB bytea value whose JSON is 0.67 GB).
func encodedSize(kind pipeline.Kind, n int) int {
	if kind == pipeline.KindBytes {
		return n*2/3 + 8
	}
	return n + n/16 + 8
}

// keyOf returns the replica identity columns of primary, falling back to
// fallback for a key column primary lacks (an unchanged TOAST key).
func keyOf(rel *relation, primary, fallback pipeline.Row) pipeline.Row {
	if !rel.hasKey || (primary == nil && fallback == nil) {
		return nil
	}
	key := make(pipeline.Row, 0, 2)
	for _, rc := range rel.cols {
		if !rc.key {
			continue
		}
		if c, ok := primary.Get(rc.name); ok {
			key = append(key, c)
		} else if c, ok := fallback.Get(rc.name); ok {
			key = append(key, c)
		}
	}
	return key
}

func eventSize(e *pipeline.Event) int {
	n := 160
	for _, r := range []pipeline.Row{e.Key, e.Before, e.After} {
		for _, c := range r {
			n += len(c.Name) + len(c.Value) + 40
		}
	}
	return n
}
