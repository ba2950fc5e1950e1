package main

import (
	"log/slog"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/natsembed"
)

// startEmbedded starts the JetStream server of nats.embedded, if
// configured, and returns the function that stops it (after everything
// else: the nats clients of this process flush to it first).
func startEmbedded(cfg *config.Config, log *slog.Logger) (stop func(), err error) {
	e := cfg.NATS.Embedded
	if e == nil {
		return func() {}, nil
	}
	srv, err := natsembed.Start(natsembed.Options{DataDir: e.DataDir, Listen: e.Listen, Log: log})
	if err != nil {
		return nil, err
	}
	log.Info("embedded nats server running", "component", "nats-server", "url", srv.URL(), "data_dir", e.DataDir)
	return srv.Shutdown, nil
}
