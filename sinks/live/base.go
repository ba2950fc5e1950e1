package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Settings are what every live sink (SSE, WebSocket) is configured with,
// besides its protocol's own settings. internal/wiring builds them from
// the validated, defaulted config; every limit must be positive.
type Settings struct {
	Hub hub.Config
	// AllowedOrigins are the browser origins that may read the stream
	// from another origin; "*" allows any. Empty: same origin only.
	AllowedOrigins []string
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// Gate admits requests (Host, Origin, authorization); nil: the
	// default host policy and no authentication.
	Gate *Gate
	// WALEnd, when not nil, is the server's current WAL end, for the
	// resume ids of another timeline (hub.WithWALEnd).
	WALEnd func() pipeline.LSN
	// Snapshot, when not nil, starts a snapshot of tables for one client
	// (snapshot=true); nil: the source cannot (not the replication one).
	Snapshot Snapshotter
	// Backfill, when not nil, reads the events older than the replay ring
	// for a client that resumes from one (hub.WithBackfill).
	Backfill hub.BackfillFunc
}

// Snapshotter starts a snapshot of tables (schema.table) for client of
// sink, at most maxRows rows together; ctx ends when the client leaves.
// The rows come through the pipeline as events meant for that client
// alone (pipeline.Event.Client). It returns at once.
type Snapshotter func(ctx context.Context, tables []string, sink, client string, maxRows int) error

// Base is the part the live sinks share: the pipeline side (the embedded
// hub.Endpoint: Name, Run, Ready, Hub, CloseStreams), the gate and the
// origins their requests are admitted with, and the write timeout.
type Base struct {
	*hub.Endpoint
	Gate         *Gate
	Origins      Origins
	WriteTimeout time.Duration
	Snapshot     Snapshotter // nil: snapshot=true is refused
}

// NewBase builds the hub of sink name (with opts) and the rest of Base.
// logger is the sink's, scoped with its name.
func NewBase(name string, st Settings, cat pipeline.Catalog, logger *slog.Logger, opts ...hub.Option) (Base, error) {
	if name == "" {
		return Base{}, errors.New("sink has no name")
	}
	if st.WriteTimeout <= 0 {
		return Base{}, fmt.Errorf("sink %q: write timeout must be positive", name)
	}
	if st.WALEnd != nil {
		opts = append(opts, hub.WithWALEnd(st.WALEnd))
	}
	if st.Backfill != nil {
		opts = append(opts, hub.WithBackfill(st.Backfill))
	}
	h, err := hub.New(name, st.Hub, cat, logger, opts...)
	if err != nil {
		return Base{}, err
	}
	return Base{Endpoint: hub.NewEndpoint(name, h), Gate: st.Gate, Origins: NewOrigins(st.AllowedOrigins), WriteTimeout: st.WriteTimeout,
		Snapshot: st.Snapshot}, nil
}

// StartSnapshot asks for the current rows of the tables sub names, for
// the subscription whose owner id is owner (Client.OwnerID; snapshot=true),
// after its cursor was placed: the rows follow in its stream. It returns the function that stops the snapshot when the
// client leaves, or a Problem naming the parameter param.
func (b *Base) StartSnapshot(owner string, sub *transform.Subscription, param string) (stop func(), problem *Problem) {
	if b.Snapshot == nil {
		return nil, &Problem{Param: param, Message: "this source cannot send the current rows (snapshot needs source.type replication)"}
	}
	var tables []string
	if cat := b.Hub().Catalog(); cat != nil {
		for _, t := range cat.Tables() {
			if sub == nil || sub.Filter().MatchTable(t.Schema, t.Table) {
				tables = append(tables, t.Schema+"."+t.Table)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Snapshot(ctx, tables, b.Name(), owner, max(b.Hub().MaxEvents()/2, 1)); err != nil {
		cancel()
		return nil, &Problem{Param: param, Message: err.Error()}
	}
	return cancel, nil
}
