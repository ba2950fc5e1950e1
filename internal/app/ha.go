package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/ha"
	"github.com/pgcdc/pgcdc/internal/wiring"
)

// Lead runs run at once without ha:, and otherwise only while this
// replica holds the HA lease for the slot: it waits as a standby, and on
// becoming the leader terminates the walsender that may still hold the
// slot for the previous leader. A lost lease is an error (exit 1): the
// supervisor restarts the process, which then waits as a standby.
func Lead(ctx context.Context, cfg *config.Config, log *slog.Logger, run func(context.Context) error) error {
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
		return run(ha.NewContext(ctx, e)) // internal/app gates the sinks' acks on it (ha.GateOutputs)
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
