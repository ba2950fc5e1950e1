// Package httpserver is pgcdc's one HTTP server: every SSE and WebSocket
// sink at its path, /healthz, /readyz, /metrics and /api/changes.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// DefaultListen is the address used when server.listen is empty: loopback
// only, so that nothing is exposed beyond the machine unless configured.
const DefaultListen = "127.0.0.1:8080"

// Reserved paths, served by the server itself.
const (
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"
	PathChanges = "/api/changes"
)

// StreamCloser is implemented by handlers that hold long-lived streams (the
// SSE and WebSocket sinks). On shutdown the server calls CloseStreams: each
// stream receives the events already published, then ends (SSE: the
// response ends; WebSocket: close frame 1001).
type StreamCloser interface {
	CloseStreams()
}

// HubProvider is implemented by the broadcast sinks. The first handler
// registered with Handle that implements it serves /api/changes from its
// replay buffer.
type HubProvider interface {
	Hub() *hub.Hub
}

// Server is the HTTP server. Configure it (Handle, AddReadyCheck) before
// Run; its methods are safe for concurrent use.
type Server struct {
	listen          string
	auth            string
	log             *slog.Logger
	shutdownTimeout time.Duration
	mux             *http.ServeMux

	mu      sync.Mutex
	paths   map[string]bool
	checks  []readyCheck
	closers []StreamCloser
	hubs    []*hub.Hub
	changes *hub.Hub
	ln      net.Listener

	stopping atomic.Bool
}

type readyCheck struct {
	name string
	fn   func() error
}

// Option configures a Server.
type Option func(*Server)

// WithShutdownTimeout bounds the graceful shutdown: how long Run waits for
// streams to end and requests to finish before closing what remains
// (default 10 s).
func WithShutdownTimeout(d time.Duration) Option { return func(s *Server) { s.shutdownTimeout = d } }

// New returns a server for cfg. Nothing listens until Listen or Run.
func New(cfg config.Server, logger *slog.Logger, opts ...Option) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		listen:          cfg.Listen,
		auth:            cfg.Auth.Mode,
		log:             logger.With("component", "http"),
		shutdownTimeout: 10 * time.Second,
		mux:             http.NewServeMux(),
		paths:           map[string]bool{},
	}
	if s.listen == "" {
		s.listen = DefaultListen
	}
	for _, o := range opts {
		o(s)
	}
	s.mux.HandleFunc(PathHealth, s.health)
	s.mux.HandleFunc(PathReady, s.ready)
	s.mux.Handle(PathMetrics, promhttp.Handler())
	s.mux.HandleFunc(PathChanges, s.serveChanges)
	for _, p := range []string{PathHealth, PathReady, PathMetrics, PathChanges} {
		s.paths[p] = true
	}
	return s
}

// Handle mounts h at exactly path (a sink's path). It returns an error for
// a path that does not start with "/", holds characters a route cannot
// (braces, spaces), is reserved, or is already taken. A handler that
// implements StreamCloser is closed on shutdown; the first that implements
// HubProvider backs /api/changes.
func (s *Server) Handle(path string, h http.Handler) error {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "{} \t\r\n?#") {
		return fmt.Errorf("http path %q: want an absolute path such as /events, without braces, spaces, ? or #", path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths[path] {
		return fmt.Errorf("http path %q is already in use (reserved: %s, %s, %s, %s)", path, PathHealth, PathReady, PathMetrics, PathChanges)
	}
	s.paths[path] = true
	s.mux.Handle(path, h)
	if c, ok := h.(StreamCloser); ok {
		s.closers = append(s.closers, c)
	}
	if p, ok := h.(HubProvider); ok {
		s.hubs = append(s.hubs, p.Hub())
		if s.changes == nil {
			s.changes = p.Hub()
		}
	}
	return nil
}

// AddReadyCheck adds a readiness condition for /readyz, such as
// "replication" (connected) or "sink live" (running): fn returns nil when
// ready, or an error saying what is not. fn must be fast and safe for
// concurrent use.
func (s *Server) AddReadyCheck(name string, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, readyCheck{name, fn})
}

// Listen opens the listening socket (Run calls it if needed), so that a
// caller can fail fast on an address in use and learn the port of
// "127.0.0.1:0".
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	if s.auth != "" && s.auth != "none" {
		return nil, fmt.Errorf("server.auth.mode %q is not implemented yet: use none (and keep server.listen on a loopback address)", s.auth)
	}
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.listen, err)
	}
	s.ln = ln
	if !loopback(s.listen) {
		s.log.Warn("live endpoints are reachable from other machines without authentication: anyone who can connect reads every change",
			"listen", s.listen, "auth", "none")
	}
	return ln.Addr(), nil
}

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run serves until ctx ends, then shuts down gracefully: it stops
// accepting, tells every stream handler to finish (CloseStreams: streams
// end after the events already published; the caller cancels ctx after the
// sinks have received their last events), waits for them within the
// shutdown timeout and closes what remains. It returns nil after a
// shutdown, or the error that stopped the server.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// No ReadTimeout or WriteTimeout: streams would be cut. Stream
		// handlers set a deadline on each write instead.
	}
	s.mu.Lock()
	closers, hubs, ln := s.closers, s.hubs, s.ln
	s.mu.Unlock()
	for _, c := range closers {
		srv.RegisterOnShutdown(c.CloseStreams)
	}
	s.log.Info("http server listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	for _, h := range hubs { // WebSocket connections are hijacked: Shutdown does not wait for them
		select {
		case <-h.Idle():
		case <-sctx.Done():
		}
	}
	if err != nil || sctx.Err() != nil {
		s.log.Warn("http shutdown timed out: closing remaining connections", "timeout", s.shutdownTimeout)
		_ = srv.Close()
		for _, h := range hubs {
			h.Abort()
		}
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server on %s: %w", ln.Addr(), err)
	}
	s.log.Info("http server stopped")
	return nil
}
