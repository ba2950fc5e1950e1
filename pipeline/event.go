package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Op is the kind of change an Event describes.
type Op string

// The operations an Event can carry.
const (
	OpInsert   Op = "insert"
	OpUpdate   Op = "update"
	OpDelete   Op = "delete"
	OpTruncate Op = "truncate"
	OpRead     Op = "read" // a row read by a snapshot
	// OpSnapshotStarted and OpSnapshotCompleted bracket a snapshot of one
	// table: a consumer may, say, delete the rows it did not see between
	// them. They carry no rows.
	OpSnapshotStarted   Op = "snapshot_started"
	OpSnapshotCompleted Op = "snapshot_completed"
)

// Ops lists every Op, in a stable order.
var Ops = []Op{OpInsert, OpUpdate, OpDelete, OpTruncate, OpRead, OpSnapshotStarted, OpSnapshotCompleted}

// Control reports whether op is a control event without rows (a
// snapshot's start or end).
func (op Op) Control() bool { return op == OpSnapshotStarted || op == OpSnapshotCompleted }

// ParseOp returns the Op named s.
func ParseOp(s string) (Op, error) {
	for _, op := range Ops {
		if string(op) == s {
			return op, nil
		}
	}
	return "", fmt.Errorf("unknown op %q: want one of insert, update, delete, truncate, read, snapshot_started, snapshot_completed", s)
}

// Kind says how a column's value is encoded in JSON and how row filters
// compare it.
type Kind uint8

// The column kinds.
const (
	// KindString values are JSON strings compared as text (text, varchar,
	// uuid, enums, inet, and any type without a more specific kind).
	KindString Kind = iota
	// KindNumber values compare numerically. int2, int4, float4 and float8
	// encode as JSON numbers; int8 and numeric as JSON strings holding the
	// exact decimal (no float rounding); NaN and ±Infinity as strings.
	KindNumber
	// KindBool values are JSON true or false.
	KindBool
	// KindTime values are RFC 3339 strings (date, timestamp, timestamptz)
	// that compare as instants.
	KindTime
	// KindJSON values are embedded JSON (json, jsonb, arrays).
	KindJSON
	// KindBytes values are base64 strings (bytea).
	KindBytes
	// KindInterval values are ISO 8601 durations (interval, "P1DT2H") that
	// compare as PostgreSQL compares intervals (a month is 30 days).
	KindInterval
	// KindClock values are times of day (time, timetz: "10:00:00",
	// "10:00:00+02") that compare as times, a timetz by its UTC time.
	KindClock
)

// Column is one column of a Row.
type Column struct {
	Name string
	Kind Kind
	// Value is the column's JSON encoding: a number, a string, true/false,
	// embedded JSON, or null. It is never empty.
	Value []byte
}

// IsNull reports whether the column's value is SQL NULL.
func (c Column) IsNull() bool { return string(c.Value) == "null" }

// Row is a table row in column order. A nil Row encodes as JSON null.
// Rows are shared between sinks: never modify one in place, build a new one.
type Row []Column

// Get returns the column named name.
func (r Row) Get(name string) (Column, bool) {
	for _, c := range r {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Event is one row change (or one truncated table). Events are immutable
// once the source has written them: transforms and sinks that change one
// build a copy (see Clone).
type Event struct {
	Op     Op
	Schema string
	Table  string
	// CommitLSN is the position of the transaction's commit record; with Seq
	// it makes the event id.
	CommitLSN LSN
	// Seq is the event's position within its transaction, from 0.
	Seq        uint32
	XID        uint32
	CommitTime time.Time
	// Key holds the replica identity columns of the row (for inserts and
	// updates taken from the new row, for deletes from the old one).
	Key Row
	// Before is the old row for updates and deletes as the server sent it
	// (key columns only, or the full row with REPLICA IDENTITY FULL); nil
	// when not available.
	Before Row
	// After is the new row for inserts, updates and snapshot reads. Columns
	// whose unchanged TOAST value the server did not send are absent and
	// named in UnchangedToast.
	After          Row
	UnchangedToast []string
	// Tables lists every table ("schema.table") truncated by the same
	// TRUNCATE statement; set only for OpTruncate.
	Tables []string
	// Snapshot is set on the events of a snapshot (read, snapshot_started,
	// snapshot_completed).
	Snapshot *SnapshotInfo
	// Target, when not empty, is the name of the one sink the event is
	// for (a snapshot requested for one sink): the others never get it. It
	// is not part of the JSON.
	Target string
	// Client, when not empty, names the one live client of the Target
	// sink the event is for (its snapshot=true); not part of the JSON.
	Client string

	// encoded caches the JSON encoding; see Encoded.
	encoded []byte
}

// SnapshotInfo says which snapshot an event belongs to.
type SnapshotInfo struct {
	ID    string // the snapshot (one table, one request)
	Chunk int    // the chunk of the table it was read in, from 0
	Last  bool   // the table's last chunk (set on snapshot_completed)
}

// ID returns the event id: the commit LSN as 16 hexadecimal digits, a colon,
// and Seq as 8 hexadecimal digits. Ids are stable across restarts and sort,
// as strings, in commit order.
func (e *Event) ID() string {
	return string(e.AppendID(make([]byte, 0, 25)))
}

// AppendID appends the event id to b.
func (e *Event) AppendID(b []byte) []byte {
	b = appendHex(b, uint64(e.CommitLSN), 16)
	b = append(b, ':')
	return appendHex(b, uint64(e.Seq), 8)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789ABCDEF"
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(uint(i)*4))&0xF])
	}
	return b
}

// ErrBadID reports a malformed event id.
var ErrBadID = errors.New("malformed event id")

// ParseID splits an event id into its commit LSN and sequence number.
func ParseID(id string) (LSN, uint32, error) {
	lsn, seq, ok := strings.Cut(id, ":")
	if !ok || len(lsn) != 16 || len(seq) != 8 {
		return 0, 0, fmt.Errorf("%w %q: want 16 hex digits, a colon and 8 hex digits", ErrBadID, id)
	}
	l, err := strconv.ParseUint(lsn, 16, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w %q: %v", ErrBadID, id, err)
	}
	s, err := strconv.ParseUint(seq, 16, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("%w %q: %v", ErrBadID, id, err)
	}
	return LSN(l), uint32(s), nil
}

// QualifiedTable returns "schema.table".
func (e *Event) QualifiedTable() string { return e.Schema + "." + e.Table }

// Clone returns a shallow copy of e without its cached encoding, for a
// transform or sink that wants to change it. Rows are shared: replace them,
// do not modify them.
func (e *Event) Clone() *Event {
	c := *e
	c.encoded = nil
	return &c
}

// Encoded returns the event's JSON encoding (ARCHITECTURE §2), computing it
// on first use. The returned bytes are shared: never modify them. Encoded is
// not safe for concurrent first use; the pipeline calls it before it fans an
// event out, so sinks may call it concurrently afterwards.
//
// For an event whose row values are large (aliasMin and up), the first
// Encoded also points the values of Key, Before and After into the
// encoding, so that the decoded copies become garbage and an event in
// flight holds its values once, not twice. The values do not change, only
// where they are stored; it happens before the event is shared.
func (e *Event) Encoded() []byte {
	if e.encoded == nil {
		n := e.Key.valueBytes() + e.Before.valueBytes() + e.After.valueBytes()
		if n < aliasMin {
			// Sized for the whole encoding, so that it is made once (a
			// fixed 256 bytes grew, copying, for most events: a tenth of
			// pgcdc's CPU in a snapshot's profile went to growing it).
			e.encoded = e.AppendJSON(make([]byte, 0, e.sizeHint()))
			return e.encoded
		}
		b, at := e.appendJSON(make([]byte, 0, n+n/8+1024))
		e.encoded = b
		e.Key.alias(b, at[0])
		e.Before.alias(b, at[1])
		e.After.alias(b, at[2])
	}
	return e.encoded
}

// aliasMin is the size of an event's row values from which Encoded makes
// the rows point into the encoding. Below it the copy is small, and
// sharing would keep the whole encoding alive through any row a
// transform keeps.
const aliasMin = 32 << 10

// AppendJSON appends the JSON encoding of e to b.
func (e *Event) AppendJSON(b []byte) []byte {
	b, _ = e.appendJSON(b)
	return b
}

// appendJSON is AppendJSON that also returns where the key, before and
// after objects start in b (-1 for a truncate, which has none).
func (e *Event) appendJSON(b []byte) ([]byte, [3]int) {
	at := [3]int{-1, -1, -1}
	b = append(b, `{"id":"`...)
	b = e.AppendID(b)
	b = append(b, `","op":"`...)
	b = append(b, e.Op...)
	b = append(b, `","schema":`...)
	b = AppendJSONString(b, e.Schema)
	b = append(b, `,"table":`...)
	b = AppendJSONString(b, e.Table)
	b = append(b, `,"commit_lsn":"`...)
	b = append(b, e.CommitLSN.String()...)
	b = append(b, `","xid":`...)
	b = strconv.AppendUint(b, uint64(e.XID), 10)
	b = append(b, `,"commit_time":"`...)
	b = appendCommitTime(b, e.CommitTime)
	b = append(b, '"')
	if e.Op == OpTruncate {
		b = append(b, `,"tables":[`...)
		for i, t := range e.Tables {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, t)
		}
		b = append(b, ']')
	} else {
		b = append(b, `,"key":`...)
		at[0] = len(b)
		b = e.Key.AppendJSON(b)
		b = append(b, `,"before":`...)
		at[1] = len(b)
		b = e.Before.AppendJSON(b)
		b = append(b, `,"after":`...)
		at[2] = len(b)
		b = e.After.AppendJSON(b)
	}
	if s := e.Snapshot; s != nil {
		b = append(b, `,"snapshot":{"id":`...)
		b = AppendJSONString(b, s.ID)
		b = append(b, `,"chunk":`...)
		b = strconv.AppendInt(b, int64(s.Chunk), 10)
		b = append(b, `,"last":`...)
		b = strconv.AppendBool(b, s.Last)
		b = append(b, '}')
	}
	if len(e.UnchangedToast) > 0 {
		b = append(b, `,"unchanged_toast":[`...)
		for i, c := range e.UnchangedToast {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, c)
		}
		b = append(b, ']')
	}
	return append(b, '}'), at
}

// valueBytes is the size of the row's values.
func (r Row) valueBytes() int {
	n := 0
	for _, c := range r {
		n += len(c.Value)
	}
	return n
}

// sizeHint is the length of e's JSON when no name needs escaping: the
// fixed keys with the longest id, LSN, xid and commit time, the names,
// the values, the snapshot object and the unchanged TOAST list.
func (e *Event) sizeHint() int {
	n := 200 + len(e.Op) + len(e.Schema) + len(e.Table)
	for _, r := range []Row{e.Key, e.Before, e.After} {
		n += 2
		for _, c := range r {
			n += len(c.Name) + 4 + len(c.Value)
		}
	}
	for _, t := range e.Tables {
		n += len(t) + 3
	}
	if s := e.Snapshot; s != nil {
		n += 48 + len(s.ID)
	}
	for _, c := range e.UnchangedToast {
		n += len(c) + 3 + 24
	}
	return n
}

// alias points the row's values at their copies in enc, the row's JSON
// object starting at enc[at] (as Row.AppendJSON wrote it).
func (r Row) alias(enc []byte, at int) {
	if r == nil || at < 0 {
		return
	}
	var scratch [64]byte
	pos := at + 1 // {
	for i := range r {
		if i > 0 {
			pos++ // ,
		}
		pos += len(AppendJSONString(scratch[:0], r[i].Name)) + 1 // "name":
		end := pos + len(r[i].Value)
		r[i].Value = enc[pos:end:end]
		pos = end
	}
}

// AppendJSON appends r as a JSON object in column order, or null for a nil
// Row.
func (r Row) AppendJSON(b []byte) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, c := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, c.Name)
		b = append(b, ':')
		b = append(b, c.Value...)
	}
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler.
func (r Row) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// MarshalJSON implements json.Marshaler with the encoding of Encoded.
func (e *Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSONString appends s as a JSON string. Invalid UTF-8 is replaced
// with U+FFFD; <, > and & are not escaped.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&0xF))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript string literals; escape them.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigit(byte(r&0xF)))
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c&0xF] }

// commitTimeCache holds the last commit time formatted: the events of a
// transaction (often thousands) share it, and formatting a time costs more
// than the rest of a narrow event's header (11% of a snapshot's CPU).
type commitTimeCache struct {
	t time.Time
	s []byte
}

var lastCommitTime atomic.Pointer[commitTimeCache]

// appendCommitTime appends t as commit_time writes it, in UTC.
func appendCommitTime(b []byte, t time.Time) []byte {
	if c := lastCommitTime.Load(); c != nil && c.t.Equal(t) {
		return append(b, c.s...)
	}
	s := t.UTC().AppendFormat(nil, "2006-01-02T15:04:05.000000Z07:00")
	lastCommitTime.Store(&commitTimeCache{t: t, s: s})
	return append(b, s...)
}
