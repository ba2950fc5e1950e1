package live

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
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
}

// Base is the part the live sinks share: the pipeline side (the embedded
// hub.Endpoint: Name, Run, Ready, Hub, CloseStreams), the gate and the
// origins their requests are admitted with, and the write timeout.
type Base struct {
	*hub.Endpoint
	Gate         *Gate
	Origins      Origins
	WriteTimeout time.Duration
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
	h, err := hub.New(name, st.Hub, cat, logger, opts...)
	if err != nil {
		return Base{}, err
	}
	return Base{Endpoint: hub.NewEndpoint(name, h), Gate: st.Gate, Origins: NewOrigins(st.AllowedOrigins), WriteTimeout: st.WriteTimeout}, nil
}
