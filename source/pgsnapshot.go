package source

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// pgSnapshot is a PostgreSQL MVCC snapshot as pg_current_snapshot() gives
// it: every transaction below xmin is finished, every one from xmax on is
// not visible, and xip lists those in between still running.
type pgSnapshot struct {
	xmin, xmax uint64
	xip        []uint64 // ascending
}

// parsePGSnapshot reads the text form of pg_snapshot, "xmin:xmax:xip,...".
func parsePGSnapshot(s string) (pgSnapshot, error) {
	var snap pgSnapshot
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return snap, fmt.Errorf("pg_snapshot %q: want xmin:xmax:xip", s)
	}
	var err error
	if snap.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return snap, fmt.Errorf("pg_snapshot %q: xmin: %w", s, err)
	}
	if snap.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return snap, fmt.Errorf("pg_snapshot %q: xmax: %w", s, err)
	}
	if snap.xmax < snap.xmin {
		return snap, fmt.Errorf("pg_snapshot %q: xmax below xmin", s)
	}
	if parts[2] != "" {
		for _, f := range strings.Split(parts[2], ",") {
			x, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return snap, fmt.Errorf("pg_snapshot %q: running transaction: %w", s, err)
			}
			if x < snap.xmin || x >= snap.xmax {
				return snap, fmt.Errorf("pg_snapshot %q: running transaction %d outside [xmin, xmax)", s, x)
			}
			snap.xip = append(snap.xip, x)
		}
		slices.Sort(snap.xip)
	}
	return snap, nil
}

func (s pgSnapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:%d:", s.xmin, s.xmax)
	for i, x := range s.xip {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(x, 10))
	}
	return b.String()
}

// widen gives a 32-bit transaction id, as pgoutput sends it, its epoch: the
// full id nearest to xmax (a transaction the reader decoded is at most 2^31
// transactions away from a snapshot taken since, or the cluster would have
// wrapped around).
func (s pgSnapshot) widen(xid uint32) uint64 {
	d := int64(int32(xid - uint32(s.xmax)))
	if d < 0 && uint64(-d) > s.xmax {
		return uint64(xid) // the first epoch
	}
	return uint64(int64(s.xmax) + d)
}

// visible reports whether the snapshot sees the changes of transaction xid,
// which committed.
func (s pgSnapshot) visible(xid uint32) bool {
	x := s.widen(xid)
	if x < s.xmin {
		return true
	}
	if x >= s.xmax {
		return false
	}
	_, running := slices.BinarySearch(s.xip, x)
	return !running
}

// invisible returns the committed transactions of xids that s does not see.
func (s pgSnapshot) invisible(xids []uint32) []uint32 {
	var out []uint32
	for _, x := range xids {
		if !s.visible(x) {
			out = append(out, x)
		}
	}
	return out
}
