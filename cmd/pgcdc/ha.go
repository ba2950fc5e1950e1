package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/ha"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/pipeline"
)

// leaseKey carries the HA lease in the context of a leader's pipeline.
type leaseKey struct{}

// runLeader runs run at once without ha:, and otherwise only while this
// replica holds the HA lease for the slot: it waits as a standby, and on
// becoming the leader terminates the walsender that may still hold the
// slot for the previous leader. A lost lease is an error (exit 1): the
// supervisor restarts the process, which then waits as a standby.
func runLeader(ctx context.Context, cfg *config.Config, log *slog.Logger, run func(context.Context) error) error {
	if cfg.HA.NATS == nil {
		return run(ctx)
	}
	e := ha.New(ha.Config{Conn: wiring.NATSConn(*cfg.HA.NATS), Bucket: cfg.HA.Bucket, Key: cfg.Source.Slot, Lease: cfg.HA.Lease}, log)
	log.Info("ha: campaigning for the slot's lease", "component", "ha", "slot", cfg.Source.Slot, "lease", cfg.HA.Lease, "id", e.ID())
	err := e.Lead(ctx, func(ctx context.Context) error {
		if n, err := ha.TerminateSlotHolder(ctx, cfg.Source.DSN, cfg.Source.Slot); err != nil {
			log.Warn("ha: could not terminate the walsender holding the slot", "component", "ha", "slot", cfg.Source.Slot, "error", err)
		} else if n > 0 {
			log.Info("ha: terminated the previous leader's walsender", "component", "ha", "slot", cfg.Source.Slot)
		}
		return run(context.WithValue(ctx, leaseKey{}, e))
	})
	switch {
	case errors.Is(err, ha.ErrLost):
		return fmt.Errorf("ha: %w (nothing was confirmed after that; restart to wait as a standby)", err)
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		log.Info("ha: standby stopped", "component", "ha")
		return nil // SIGTERM while a standby: a clean exit
	}
	return err
}

// gateOutputs makes every sink's acknowledgement count only while this
// replica holds the lease (when ctx carries one): nothing is confirmed
// to PostgreSQL after the lease is lost, and the sinks stop at once.
func gateOutputs(ctx context.Context, outs []pipeline.Output) []pipeline.Output {
	e, ok := ctx.Value(leaseKey{}).(*ha.Elector)
	if !ok {
		return outs
	}
	gated := make([]pipeline.Output, len(outs))
	for i, o := range outs {
		gated[i] = pipeline.Output{Sink: &gatedSink{Sink: o.Sink, lease: e, lost: e.Lost()}, Transform: o.Transform}
	}
	return gated
}

// gatedSink passes batches to its sink with acks that are dropped once
// the lease is not valid, and fails when the lease is lost.
type gatedSink struct {
	pipeline.Sink
	lease *ha.Elector
	lost  <-chan struct{}
}

func (g *gatedSink) Ready() bool {
	r, ok := g.Sink.(pipeline.Readier)
	return g.lease.Valid() && (!ok || r.Ready())
}

func (g *gatedSink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	inner := make(chan *pipeline.Batch, cap(in))
	done := make(chan error, 1)
	go func() { done <- g.Sink.Run(ctx, inner) }()
	defer func() {
		if inner != nil {
			close(inner)
		}
	}()
	for {
		select {
		case b, ok := <-in:
			if !ok {
				close(inner)
				inner = nil
				return <-done
			}
			orig := b
			gb := pipeline.NewBatch(b.Events, b.End, func() {
				if g.lease.Valid() {
					orig.Ack()
				}
			})
			gb.Bytes = b.Bytes
			select {
			case inner <- gb:
			case err := <-done:
				return err
			case <-g.lost:
				return ha.ErrLost
			}
		case err := <-done:
			return err
		case <-g.lost:
			return ha.ErrLost
		}
	}
}
