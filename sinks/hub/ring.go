package hub

import (
	"math/bits"

	"github.com/pgcdc/pgcdc/pipeline"
)

// eventID is an event id in numeric form; it orders like the id string.
type eventID struct {
	lsn pipeline.LSN
	seq uint32
}

func idOf(e *pipeline.Event) eventID { return eventID{e.CommitLSN, e.Seq} }

// successor returns the smallest id after a.
func (a eventID) successor() eventID { return eventID{a.lsn, a.seq + 1} }

// less reports whether a sorts before b.
func (a eventID) less(b eventID) bool {
	return a.lsn < b.lsn || (a.lsn == b.lsn && a.seq < b.seq)
}

// parseEventID parses the text form of an event id.
func parseEventID(s string) (eventID, error) {
	lsn, seq, err := pipeline.ParseID(s)
	return eventID{lsn, seq}, err
}

// String returns the event id's text form.
func (a eventID) String() string {
	e := pipeline.Event{CommitLSN: a.lsn, Seq: a.seq}
	return e.ID()
}

// entry is one buffered event.
type entry struct {
	ev    *pipeline.Event
	head  []byte // what the hub's head function made of ev, or nil
	size  int64  // approximate memory, for the byte limit
	added int64  // time.Now().UnixNano() when published, for the age limit
}

// ring is a growable circular buffer of entries addressed by a sequence
// number that only grows: entries [tail, head) are held. It is not safe for
// concurrent use; the Hub's mutex guards it.
type ring struct {
	buf  []entry // len is a power of two
	head uint64  // sequence number of the next entry pushed
	tail uint64  // sequence number of the oldest entry held
}

func (r *ring) len() int { return int(r.head - r.tail) }

// at returns the entry with sequence number seq, which must be held.
func (r *ring) at(seq uint64) *entry { return &r.buf[seq&uint64(len(r.buf)-1)] }

// push appends e, growing the buffer up to the next power of two at or
// above limit. The caller evicts first so that the ring never holds more
// than limit entries.
func (r *ring) push(e entry, limit int) {
	if r.len() == len(r.buf) {
		r.grow(limit)
	}
	*r.at(r.head) = e
	r.head++
}

func (r *ring) grow(limit int) {
	n := 2 * len(r.buf)
	if n == 0 {
		n = 64
	}
	if most := ceilPow2(limit); n > most {
		n = most
	}
	if n <= len(r.buf) {
		n = 2 * len(r.buf) // the caller broke the limit: stay correct anyway
	}
	buf := make([]entry, n)
	for s := r.tail; s != r.head; s++ {
		buf[s&uint64(n-1)] = *r.at(s)
	}
	r.buf = buf
}

// pop removes and returns the oldest entry; the ring must not be empty.
func (r *ring) pop() entry {
	p := r.at(r.tail)
	e := *p
	*p = entry{} // release the event to the garbage collector
	r.tail++
	return e
}

// search returns the sequence number of the first held entry whose id is
// greater than id (head when there is none).
func (r *ring) search(id eventID) uint64 {
	lo, hi := r.tail, r.head
	for lo < hi {
		mid := lo + (hi-lo)/2
		if id.less(idOf(r.at(mid).ev)) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// eventSize estimates the memory an event holds: its JSON encoding, its row
// values and a fixed overhead for the structures around them.
func eventSize(e *pipeline.Event) int64 {
	n := int64(len(e.Encoded())) + 256
	for _, row := range [...]pipeline.Row{e.Key, e.Before, e.After} {
		for _, c := range row {
			n += int64(len(c.Value)) + 48
		}
	}
	return n
}
