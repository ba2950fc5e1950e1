package ws

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Defaults used when a config value is zero (the config package applies
// the same ones).
const (
	DefaultHeartbeat       = 15 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultMaxMessageBytes = 64 << 10
)

// Sink is the WebSocket broadcast sink (type: websocket). It is a
// pipeline.Sink fed by the pipeline and an http.Handler mounted at its path
// on the server. It is safe for concurrent use.
type Sink struct {
	name string
	*hub.Endpoint
	log          *slog.Logger
	origins      hub.Origins
	heartbeat    time.Duration
	writeTimeout time.Duration
	readLimit    int64
	drain        time.Duration
	closeGrace   time.Duration
	upgrader     websocket.Upgrader
}

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Readier = (*Sink)(nil)
	_ http.Handler     = (*Sink)(nil)
)

// Option configures a Sink.
type Option func(*Sink)

// WithDrainTimeout bounds how long Run waits, after its input is closed,
// for clients to receive the last events before their connections are cut
// (default: the write timeout).
func WithDrainTimeout(d time.Duration) Option { return func(s *Sink) { s.drain = d } }

// writeBufferPool is handed to gorilla only so that it allocates no write
// buffer per connection: it would use one for data messages, and the
// writer frames those itself (conn.cycle); gorilla writes only control
// frames, which need none.
var writeBufferPool = &sync.Pool{}

// New returns the WebSocket sink configured by cfg (type websocket). cat is
// the catalog subscriptions are checked against (the source's); nil skips
// those checks.
func New(cfg config.Sink, cat pipeline.Catalog, logger *slog.Logger, opts ...Option) (*Sink, error) {
	if cfg.Type != "websocket" {
		return nil, fmt.Errorf("websocket: sink %q has type %q, want websocket", cfg.Name, cfg.Type)
	}
	if cfg.Name == "" {
		return nil, fmt.Errorf("websocket: sink has no name")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := cfg.Broadcast
	s := &Sink{
		name:         cfg.Name,
		log:          logger.With("component", "websocket", "sink", cfg.Name),
		origins:      hub.NewOrigins(b.AllowedOrigins),
		heartbeat:    hub.OrDefault(b.Heartbeat, DefaultHeartbeat),
		writeTimeout: hub.OrDefault(b.WriteTimeout, DefaultWriteTimeout),
		readLimit:    b.MaxMessageBytes,
		closeGrace:   time.Second,
	}
	if s.readLimit <= 0 {
		s.readLimit = DefaultMaxMessageBytes
	}
	s.drain = s.writeTimeout
	for _, o := range opts {
		o(s)
	}
	b.Heartbeat = s.heartbeat
	s.Endpoint = hub.NewEndpoint(cfg.Name, hub.New(cfg.Name, b, cat, s.log), s.drain)
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: s.writeTimeout,
		// A small read buffer of its own, rather than the HTTP server's
		// 4 KB one that gorilla would keep for the connection's life:
		// clients send a few short messages, and an idle connection
		// should hold little.
		ReadBufferSize:  512,
		WriteBufferSize: 8 << 10,
		WriteBufferPool: writeBufferPool,
		CheckOrigin:     func(r *http.Request) bool { return s.origins.Allowed(r.Header.Get("Origin"), r.Host) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			hub.WriteError(w, status, reason.Error(), nil)
		},
	}
	return s, nil
}

// ServeHTTP upgrades the request to a WebSocket connection and starts its
// reader and writer goroutines; it returns at once, so the HTTP server's
// per-request memory is released. A request that is not a WebSocket
// handshake gets 426; a disallowed Origin gets 403.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		hub.WriteError(w, http.StatusUpgradeRequired, "this endpoint speaks WebSocket: connect with new WebSocket(url)", nil)
		return
	}
	if origin := r.Header.Get("Origin"); !s.origins.Allowed(origin, r.Host) {
		hub.WriteError(w, http.StatusForbidden, fmt.Sprintf("origin %q is not allowed: list it in the sink's allowed_origins", origin), nil)
		return
	}
	first, hasFirst := queryRequest(s.Hub(), r.URL.RawQuery)
	client, err := s.Hub().Register()
	if err != nil {
		w.Header().Set("Retry-After", "5")
		hub.WriteError(w, http.StatusServiceUnavailable, "the stream is shutting down", nil)
		return
	}
	hw := &hijackWriter{ResponseWriter: w, timeout: s.writeTimeout}
	wsc, err := s.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		client.Leave(hub.ReasonReadError)
		s.log.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := newConn(s, wsc, hw.conn, client, r.RemoteAddr)
	if hasFirst {
		c.next = &first
	}
	s.log.Debug("client connected", "remote", r.RemoteAddr)
	go c.readLoop()
	go c.writeLoop()
}
