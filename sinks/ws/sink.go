package ws

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/internal/auth"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Config configures a WebSocket sink (type: websocket). internal/wiring
// builds it from the validated, defaulted config; every limit must be
// positive.
type Config struct {
	Name string
	live.Settings
	// MaxMessageBytes is the read limit for client messages.
	MaxMessageBytes int64
	// MaxSubscriptions bounds the subscriptions of one connection (0:
	// MaxSubscriptions).
	MaxSubscriptions int
	// MessagesPerSecond bounds the messages a client sends, on average
	// over a burst of twice as many (0: unlimited); a client over it is
	// closed with ClosePolicyViolation.
	MessagesPerSecond float64
}

// Sink is the WebSocket broadcast sink (type: websocket). It is a
// pipeline.Sink fed by the pipeline and an http.Handler mounted at its path
// on the server. It is safe for concurrent use.
type Sink struct {
	live.Base
	log        *slog.Logger
	heartbeat  time.Duration
	readLimit  int64
	closeGrace time.Duration
	upgrader   websocket.Upgrader
	maxSubs    int
	msgRate    float64
	// authTimeout bounds the wait for the first auth message, reauthGrace
	// the wait for a new token after auth_expired (fields, for tests).
	authTimeout, reauthGrace time.Duration
}

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Readier = (*Sink)(nil)
	_ http.Handler     = (*Sink)(nil)
)

// writeBufferPool is handed to gorilla only so that it allocates no write
// buffer per connection: it would use one for data messages, and the
// writer frames those itself (package live's client loop); gorilla writes
// only control frames, which need none.
var writeBufferPool = &sync.Pool{}

// New returns the WebSocket sink configured by cfg. cat is the catalog
// subscriptions are checked against (the source's); nil skips those
// checks.
func New(cfg Config, cat pipeline.Catalog, logger *slog.Logger) (*Sink, error) {
	if cfg.MaxMessageBytes <= 0 {
		return nil, fmt.Errorf("websocket: sink %q: max message bytes must be positive", cfg.Name)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{
		log:         logger.With("component", "websocket", "sink", cfg.Name),
		heartbeat:   cfg.Hub.Heartbeat,
		readLimit:   cfg.MaxMessageBytes,
		closeGrace:  time.Second,
		maxSubs:     cfg.MaxSubscriptions,
		msgRate:     cfg.MessagesPerSecond,
		authTimeout: auth.AuthMessageTimeout,
		reauthGrace: ReauthGrace,
	}
	if s.maxSubs <= 0 {
		s.maxSubs = MaxSubscriptions
	}
	var err error
	if s.Base, err = live.NewBase(cfg.Name, cfg.Settings, cat, s.log); err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: s.WriteTimeout,
		// A small read buffer of its own, rather than the HTTP server's
		// 4 KB one that gorilla would keep for the connection's life:
		// clients send a few short messages, and an idle connection
		// should hold little.
		ReadBufferSize:  512,
		WriteBufferSize: 8 << 10,
		WriteBufferPool: writeBufferPool,
		// The gate checked the Origin before Upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			live.WriteError(w, status, reason.Error(), nil)
		},
	}
	return s, nil
}

// ServeHTTP admits the request (Host, Origin, authorization: live.Gate),
// upgrades it to a WebSocket connection and starts its reader and writer
// goroutines; it returns at once, so the HTTP server's per-request memory
// is released. A request that is not a WebSocket handshake gets 426.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, deferred, ok := s.Gate.AdmitWebSocket(w, r, s.Origins)
	if !ok {
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		live.WriteError(w, http.StatusUpgradeRequired, "this endpoint speaks WebSocket: connect with new WebSocket(url)", nil)
		return
	}
	// Without a credential yet, the query's subscription is compiled once
	// the auth message brings the scope (conn.authenticate).
	var first request
	var hasFirst bool
	if !deferred {
		first, hasFirst = queryRequest(r.Context(), s.Hub(), scope, r.URL.RawQuery)
	}
	reg := live.Register(w, s.Hub())
	if reg == nil {
		return
	}
	hw := &live.HijackWriter{ResponseWriter: w, Timeout: s.WriteTimeout, Wrap: func(c *live.Conn) net.Conn { return frameConn{c} }}
	wsc, err := s.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		reg.Leave(hub.ReasonReadError)
		s.log.Debug("websocket handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	c := newConn(s, wsc, hw.Conn, reg, scope, r.RemoteAddr)
	if deferred {
		c.deferred, c.query = true, r.URL.RawQuery
	} else {
		c.client.SetExpiry(scope.DisconnectAt())
		c.authed = true
	}
	if hasFirst {
		c.ctrl <- first // the channel is empty and buffered
	}
	s.log.Debug("client connected", "remote", r.RemoteAddr)
	go c.readLoop()
	go c.writeLoop()
}

// frameConn is the connection gorilla writes its control frames to: a
// close frame (its echo of the client's close, or 1009 for a message over
// the limit) seals the live.Conn under its lock, so that the writer cannot
// put a data frame after it (RFC 6455 §5.5.1: nothing follows a close).
type frameConn struct{ *live.Conn }

// Write implements net.Conn. gorilla writes the handshake response and
// then each control frame with one Write; a close frame starts with FIN
// and the close opcode (0x88), which no handshake response does.
func (c frameConn) Write(p []byte) (int, error) {
	const finClose = 0x80 | 0x8
	if len(p) > 0 && p[0] == finClose {
		return c.Conn.WriteLast(p)
	}
	return c.Conn.Write(p)
}
