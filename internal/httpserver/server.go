// Package httpserver is pgcdc's one HTTP server: a mux and its lifecycle
// (listen, serve, graceful shutdown). It serves /healthz, /readyz and
// /metrics itself; the live endpoints (every SSE and WebSocket sink at its
// path, /api/changes) are handlers of package live, mounted with Handle.
//
// # Shutdown order
//
// The caller derives one deadline from pipeline.drain_timeout and bounds
// everything with it:
//
//  1. the source stops reading WAL; the pipeline delivers what is in
//     flight and closes the sinks' inputs;
//  2. each broadcast sink closes its hub: clients get the events already
//     published, then their streams end (SSE: the response ends;
//     WebSocket: close 1001), and the sink's Run returns once they have
//     left or the deadline passes (the rest is cut);
//  3. the source confirms, and the caller calls Shutdown with what is left
//     of the deadline: the server stops accepting, ends any stream still
//     open (a Streamer's CloseStreams), waits for requests and streams to
//     finish, and when the deadline passes closes what remains.
//
// /readyz answers 503 from the start of Shutdown.
//
// # TLS and limits
//
// With server.tls the server serves HTTPS, offering h2 and http/1.1 by
// ALPN (SSE streams over HTTP/2 through the ResponseWriter; WebSocket
// upgrades over HTTP/1.1), with a certificate reloaded when its files
// change (certReloader). server.limits bound the connections in total and
// per client address (limitListener), header size and header read time
// (a slow-loris client holds a slot of its own address only until
// ReadHeaderTimeout) and idle keep-alives; the WebSocket sink bounds
// subscriptions and client messages. server.metrics_token guards
// /metrics.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pgcdc/pgcdc/config"
)

// Reserved paths. The server serves the first three itself; PathChanges
// is mounted with Handle by the caller (wiring mounts package live's
// handler over the first broadcast sink).
const (
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"
	PathChanges = "/api/changes"
	PathTicket  = "/api/ticket"
	PathWhoami  = "/api/whoami"
	PathStatus  = "/api/status"
)

// Streamer is implemented by handlers that hold long-lived streams (the
// SSE and WebSocket sinks). Shutdown calls CloseStreams (each stream
// receives the events already published, then ends), waits for
// StreamsDone, and calls AbortStreams when its deadline passes first: a
// hijacked connection is not one net/http's Shutdown waits for.
type Streamer interface {
	CloseStreams()
	AbortStreams()
	StreamsDone() <-chan struct{}
}

// Server is the HTTP server. Configure it (Handle, AddReadyCheck) before
// Serve; its methods are safe for concurrent use.
//
// It answers from Listen on, while the caller still prepares (waiting for
// PostgreSQL, NATS or a stream): /healthz 200, /readyz 503 ("server":
// "starting", and whatever checks fail), /metrics. A request for any
// other path waits until Serve, as it would in the listen backlog: so a
// probe gets an answer, no sink's handler sees a request before its sink
// runs, and a browser's EventSource that reconnects during a restart is
// not turned away (it gives up for good on a status other than 200).
type Server struct {
	listen string
	auth   string
	limits config.Limits
	certs  *certReloader // nil: plain HTTP
	log    *slog.Logger
	mux    *http.ServeMux
	srv    *http.Server

	mu       sync.Mutex
	paths    map[string]bool
	checks   []readyCheck
	streams  []Streamer
	ln       net.Listener
	served   chan error    // the serving goroutine's end, from Listen
	opened   chan struct{} // closed by Serve
	closing  chan struct{} // closed by Shutdown
	open     atomic.Bool
	stopping atomic.Bool
}

type readyCheck struct {
	name string
	fn   func() error
}

// New returns a server for cfg (validated and defaulted: cfg.Listen is
// the address, cfg.Limits are set). With cfg.TLS it loads the certificate
// now, so that a bad file fails before anything else starts. Nothing
// listens until Listen.
func New(cfg config.Server, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		listen: cfg.Listen,
		auth:   cfg.Auth.Mode,
		limits: cfg.Limits,
		log:    logger.With("component", "http"),
		mux:    http.NewServeMux(),
		paths:  map[string]bool{},
		opened: make(chan struct{}), closing: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.route),
		ReadHeaderTimeout: cfg.Limits.ReadHeaderTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		MaxHeaderBytes:    cfg.Limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// No ReadTimeout or WriteTimeout: streams would be cut. Stream
		// handlers bound each write with a deadline instead.
	}
	if cfg.TLS.CertFile != "" {
		var err error
		if s.certs, err = newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, time.Second, s.log); err != nil {
			return nil, fmt.Errorf("server.tls: %w", err)
		}
		s.srv.TLSConfig = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.certs.get,
			// HTTP/2 for SSE (no six-connection limit per origin in
			// browsers); HTTP/1.1 for the WebSocket upgrade.
			NextProtos: []string{"h2", "http/1.1"},
		}
	}
	s.mux.HandleFunc(PathHealth, s.health)
	s.mux.HandleFunc(PathReady, s.ready)
	s.mux.Handle(PathMetrics, metricsHandler(cfg.MetricsToken))
	for _, p := range []string{PathHealth, PathReady, PathMetrics} {
		s.paths[p] = true
	}
	return s, nil
}

// route serves the mux; until Serve, a path other than the server's own
// waits (or ends with its client).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !s.open.Load() {
		switch r.URL.Path {
		case PathHealth, PathReady, PathMetrics:
		default:
			select {
			case <-s.opened:
			case <-s.closing:
				http.Error(w, "pgcdc is shutting down", http.StatusServiceUnavailable)
				return
			case <-r.Context().Done(): // the client left
				return
			}
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Handle mounts h at exactly path (a sink's path, or PathChanges). It
// returns an error for a path that does not start with "/", holds
// characters a route cannot (braces, spaces), is reserved, or is already
// taken. A handler that implements Streamer is ended on shutdown.
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
	if st, ok := h.(Streamer); ok {
		s.streams = append(s.streams, st)
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

// Listen opens the listening socket, so that a caller can fail fast on an
// address in use (before it touches the database) and learn the port of
// "127.0.0.1:0". It logs the address once. Calls after the first return
// the same address.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	if s.listen == "" {
		return nil, errors.New(`server.listen is "": the HTTP server is switched off`)
	}
	ln, err := net.Listen("tcp", s.listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: the address is in use (another pgcdc?): set server.listen to a free address (pgcdc demo: --listen), e.g. 127.0.0.1:0 for any free port, or \"\" to switch HTTP off when no sse or websocket sink needs it", s.listen)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.listen, err)
	}
	s.ln = newLimitListener(ln, s.limits.Connections, s.limits.ConnectionsPerIP)
	s.served = make(chan error, 1)
	go func(ln net.Listener) { s.served <- s.serve(ln) }(s.ln)
	scheme := "http"
	if s.certs != nil {
		scheme = "https"
	}
	s.log.Info("http server listening", "addr", ln.Addr().String(), "scheme", scheme)
	if (s.auth == "" || s.auth == config.AuthNone) && !config.LoopbackListen(s.listen) {
		s.log.Warn("live endpoints are reachable from other machines without authentication (server.auth mode none): anyone who can connect reads every change",
			"listen", s.listen, "auth", "none")
	}
	return ln.Addr(), nil
}

// Serve opens every path (listening first if Listen was not called) and
// waits until Shutdown: it returns nil after a shutdown, or the error
// that stopped the server. Call it once.
func (s *Server) Serve() error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	s.Open()
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	return <-served
}

// Open opens every path (Serve does too): requests waiting for the
// pipeline go on. Callers that start Serve in a goroutine call it first,
// so that nothing that follows races the goroutine.
func (s *Server) Open() {
	if !s.open.Swap(true) {
		close(s.opened)
	}
}

// serve runs net/http's server on ln until Shutdown.
func (s *Server) serve(ln net.Listener) error {
	var err error
	if s.certs != nil {
		err = s.srv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig.GetCertificate
	} else {
		err = s.srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Shutdown shuts the server down gracefully within ctx (see the package
// documentation for the order): it stops accepting, ends every stream
// after the events already published, and waits for requests and streams
// to finish. When ctx ends first it closes what remains and returns
// ctx's error. It has no clock of its own.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.stopping.Swap(true) {
		close(s.closing)
	}
	s.mu.Lock()
	streams := s.streams
	s.mu.Unlock()
	for _, st := range streams {
		st.CloseStreams()
	}
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	if s.ln != nil {
		_ = s.ln.Close() // when Serve never ran; Shutdown closed it otherwise
	}
	s.mu.Unlock()
	for _, st := range streams { // hijacked connections: Shutdown did not wait for them
		select {
		case <-st.StreamsDone():
		case <-ctx.Done():
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		s.log.Warn("http shutdown deadline passed: closing remaining connections")
		_ = s.srv.Close()
		for _, st := range streams {
			st.AbortStreams()
		}
		return fmt.Errorf("http shutdown: %w", err)
	}
	s.log.Info("http server stopped")
	return nil
}
