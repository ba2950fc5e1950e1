package natsconn

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// The stream's wire format, shared by the nats sink (which writes it) and
// the nats source (which reads it). Each message is one event: the body
// is the event's JSON (ARCHITECTURE §2), and the headers are:
//
//	Nats-Msg-Id        the event id (JetStream dedupes on it)
//	Pgcdc-Commit-Time  the commit time, RFC 3339 with nanoseconds
//	Pgcdc-Epoch        the stream's epoch (see Epoch)
//
// Messages are in event-id order: the writer never appends an id <= the
// last one in the stream.
const (
	HeaderCommitTime = "Pgcdc-Commit-Time"
	HeaderEpoch      = "Pgcdc-Epoch"
	// MetadataEpoch is the stream metadata key that holds the epoch of a
	// stream pgcdc created.
	MetadataEpoch = "pgcdc_epoch"
)

// CatalogBucket is the KV bucket that the nats sink writing to stream
// keeps the source's catalog in (key CatalogKey, a JSON list of
// pipeline.TableInfo), for edges.
func CatalogBucket(stream string) string { return "pgcdc_catalog_" + stream }

// CatalogKey is the key of the catalog in CatalogBucket.
const CatalogKey = "tables"

// PositionBucket is the KV bucket where an edge's durable sinks keep
// their positions in stream.
func PositionBucket(stream string) string { return "pgcdc_edge_" + stream }

// Epoch names one history of a stream: an id stored in the stream's
// metadata when pgcdc created it, else the stream's creation time. A
// stream deleted and created again has another epoch, so a client's
// event id from the old one is not looked up in the new one.
func Epoch(info *jetstream.StreamInfo) string {
	if e := info.Config.Metadata[MetadataEpoch]; e != "" {
		return e
	}
	return "c" + strconv.FormatInt(info.Created.UnixNano(), 36)
}

// Tail returns the stream's last sequence and the event id of its last
// message ("" when the stream holds none).
func Tail(ctx context.Context, s jetstream.Stream) (lastSeq uint64, lastID string, err error) {
	info, err := s.Info(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("read stream info: %w", err)
	}
	st := info.State
	if st.Msgs == 0 {
		return st.LastSeq, "", nil
	}
	// The last sequence may have been deleted by hand: the newest message
	// that exists is the last one at or before it. Walk back a little.
	for seq := st.LastSeq; seq >= st.FirstSeq && seq+64 > st.LastSeq; seq-- {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, "", fmt.Errorf("read the stream's last message (seq %d): %w", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if id == "" {
			return 0, "", fmt.Errorf("the stream's message %d has no %s header: the stream holds messages pgcdc did not write; give pgcdc a stream of its own", seq, jetstream.MsgIDHeader)
		}
		return st.LastSeq, id, nil
	}
	return st.LastSeq, "", nil
}
