package wiring

import (
	"log/slog"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/natsconn"
	natssink "github.com/pgcdc/pgcdc/sinks/nats"
	natssource "github.com/pgcdc/pgcdc/source/nats"
)

// NATSConn maps a NATS client's config to its connection options.
func NATSConn(c config.NATSConn) natsconn.Options {
	return natsconn.Options{
		URL: c.URL, CredsFile: c.CredsFile, NKeyFile: c.NKeyFile, User: c.User, Password: c.Password, Token: c.Token,
		TLS: natsconn.TLS{CAFile: c.TLS.CAFile, CertFile: c.TLS.CertFile, KeyFile: c.TLS.KeyFile, InsecureSkipVerify: c.TLS.InsecureSkipVerify},
	}
}

// NATSSinkConfig is the one place a nats sink's config.Sink becomes the
// sink's typed Config.
func NATSSinkConfig(sc config.Sink) natssink.Config {
	n := sc.NATSSink
	return natssink.Config{
		Name:    sc.Name,
		Conn:    NATSConn(config.NATSConn{URL: sc.URL, NATSAuth: n.NATSAuth, TLS: sc.TLS}),
		Subject: n.Subject,
		Stream: natssink.Stream{Name: n.Stream.Name, Create: n.Stream.Create, Replicas: n.Stream.Replicas,
			MaxAge: n.Stream.MaxAge, MaxBytes: n.Stream.MaxBytes},
		MaxInflight: n.MaxInflight,
	}
}

// EdgeSource builds an edge's source of the stream in cfg.Source.NATS:
// durable "" is the live source, warmed by the last warm messages;
// otherwise it is the source of one durable sink, keeping its position
// under consumer.durable.
func EdgeSource(cfg *config.Config, log *slog.Logger, durable string, warm int) *natssource.Source {
	n := cfg.Source.NATS
	key := ""
	if durable != "" {
		key = n.Consumer + "." + durable
	}
	return natssource.New(natssource.Config{Conn: NATSConn(n.NATSConn), Stream: n.Stream,
		BatchEvents: cfg.Pipeline.BatchEvents, Durable: key, Warm: warm}, log)
}
