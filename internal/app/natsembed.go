package app

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/natsembed"
)

// embeddedMemory is what the soft memory limit grows by for an embedded
// JetStream server.
const embeddedMemory = 256 << 20

// StartEmbedded starts the JetStream server of nats.embedded, if
// configured, and returns the function that stops it (after everything
// else: the nats clients of this process flush to it first).
func StartEmbedded(cfg *config.Config, log *slog.Logger) (stop func(), err error) {
	e := cfg.NATS.Embedded
	if e == nil {
		return func() {}, nil
	}
	srv, err := natsembed.Start(natsembed.Options{DataDir: e.DataDir, Listen: e.Listen, Log: log})
	if err != nil {
		return nil, err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// The server's memory (its caches, the duplicate window's ids)
		// is not in pgcdc's budgets: give the soft limit room for it, or
		// the collector runs without end.
		debug.SetMemoryLimit(debug.SetMemoryLimit(-1) + embeddedMemory)
	}
	log.Info("embedded nats server running", "component", "nats-server", "url", srv.URL(), "data_dir", e.DataDir)
	return srv.Shutdown, nil
}
