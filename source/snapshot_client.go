package source

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// ClientSnapshot asks for the current rows of tables for one live client
// (SSE snapshot=true, a WebSocket subscribe with "snapshot": true): the
// rows arrive as read events in the client's stream, at the position of
// their chunk's high watermark, with the guarantees of every snapshot (no
// read older than a change the client already got, no gap), between a
// snapshot_started and a snapshot_completed per table.
type ClientSnapshot struct {
	Tables []string // schema.table, each published
	Sink   string   // the live sink the client reads
	Client string   // the client (hub.Client.ID)
	// MaxRows bounds the rows of all the tables together: a live snapshot
	// goes through the sink's replay buffer, so it is for what a page
	// shows, not for a bulk copy.
	MaxRows int
}

// clientJob is a queued client snapshot; ctx ends when the client leaves.
type clientJob struct {
	*snapJob
	ctx context.Context
}

// ErrSnapshotTooLarge reports a live client snapshot over its MaxRows.
var ErrSnapshotTooLarge = errors.New("too many rows for a live client snapshot")

// SnapshotForClient checks req (the tables are published, have a key, and
// hold at most MaxRows rows together) and queues a snapshot of each table
// for the client; ctx ends when the client leaves, which stops it. The
// rows follow in the client's stream.
func (s *Source) SnapshotForClient(ctx context.Context, req ClientSnapshot) error {
	if len(req.Tables) == 0 {
		return errors.New("snapshot: the subscription names no published table")
	}
	conn, err := s.conn.SQL(ctx)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var jobs []*snapJob
	total := 0
	for _, name := range req.Tables {
		p, err := transform.ParseTablePattern(name)
		if err != nil {
			return err
		}
		schema, table, ok := p.Literal()
		if !ok {
			return fmt.Errorf("snapshot: %q is not one table", name)
		}
		t, ok := s.cat.Table(schema, table)
		if !ok {
			return fmt.Errorf("snapshot: table %s.%s is not published", schema, table)
		}
		if _, err := planTable(ctx, conn, s.cfg.Publication, t); err != nil {
			return err
		}
		var n int
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM %s.%s LIMIT $1) x`, quoteIdent(schema), quoteIdent(table)),
			req.MaxRows+1).Scan(&n); err != nil {
			return fmt.Errorf("snapshot: count the rows of %s.%s: %w", schema, table, err)
		}
		if total += n; total > req.MaxRows {
			return fmt.Errorf("%w: %s has more than %d rows (the sink's replay buffer holds %d events): narrow the subscription's tables, or use pgcdc snapshot with a webhook or /api/changes for a bulk copy",
				ErrSnapshotTooLarge, strings.Join(req.Tables, ", "), req.MaxRows, 2*req.MaxRows)
		}
		jobs = append(jobs, &snapJob{id: "live-" + newSnapshotID(), schema: schema, table: table, sink: req.Sink,
			client: req.Client, state: "pending"})
	}
	for _, j := range jobs {
		select {
		case s.clientJobs <- clientJob{snapJob: j, ctx: ctx}:
		default:
			return errors.New("snapshot: too many live client snapshots waiting; try again")
		}
	}
	return nil
}
