// Package natsembed runs a NATS server with JetStream inside the pgcdc
// process (github.com/nats-io/nats-server/v2), with file storage in a data
// directory. It is the single-box mode of scaling out (README, "Scaling
// out"): one machine gets a durable stream between the slot reader and
// independent edges with no extra service to install. Tests use it too,
// with Port -1 (a free port) and a temporary directory.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure an embedded server. DataDir is required; the zero
// value of every other field works.
type Options struct {
	// DataDir holds JetStream's file storage; it survives restarts.
	DataDir string
	// Listen is the client address, host:port (default 127.0.0.1:4222;
	// port -1 picks a free one).
	Listen string
	// Name names the server (default: generated); cluster members need
	// distinct names.
	Name string
	// Cluster, when Cluster.Name is set, makes the server a member of a
	// route-connected JetStream cluster (tests of node failure).
	Cluster Cluster
	// MaxStore bounds the file storage in bytes (0: the server's default,
	// a share of the disk).
	MaxStore int64
	// Log receives the server's warnings and errors (nil: discarded).
	Log *slog.Logger
	// Debug passes the server's notices through to Log at debug level.
	Debug bool
}

// Cluster is the route configuration of one member of a cluster.
type Cluster struct {
	Name   string
	Listen string   // host:port of this member's route listener
	Routes []string // nats-route://host:port of the others
}

// DefaultListen is where an embedded server listens unless told.
const DefaultListen = "127.0.0.1:4222"

// Server is a running embedded server.
type Server struct {
	srv *server.Server
}

// Start starts a server and waits until it accepts connections (at most
// 30 s). The caller must Shutdown it.
func Start(o Options) (*Server, error) {
	if o.DataDir == "" {
		return nil, errors.New("embedded nats: data_dir is required: the directory JetStream stores the stream in")
	}
	listen := o.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, port, err := hostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: listen %q: %w", listen, err)
	}
	opts := &server.Options{
		ServerName: o.Name, Host: host, Port: port,
		JetStream: true, StoreDir: o.DataDir, JetStreamMaxStore: o.MaxStore,
		NoSigs: true,
	}
	if o.Cluster.Name != "" {
		ch, cp, err := hostPort(o.Cluster.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: cluster listen %q: %w", o.Cluster.Listen, err)
		}
		opts.Cluster = server.ClusterOpts{Name: o.Cluster.Name, Host: ch, Port: cp}
		for _, r := range o.Cluster.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("embedded nats: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lg := &logger{log: log.With("component", "nats-server"), debug: o.Debug, fatal: make(chan string, 1)}
	srv.SetLoggerV2(lg, o.Debug, false, false)
	go srv.Start()
	ready := make(chan bool, 1)
	go func() { ready <- srv.ReadyForConnections(30 * time.Second) }()
	select {
	case ok := <-ready:
		if !ok {
			srv.Shutdown()
			return nil, fmt.Errorf("embedded nats: not accepting connections on %s after 30s (is the port taken? is %s writable?)", listen, o.DataDir)
		}
	case msg := <-lg.fatal:
		// The server gave up (a port taken, a store it cannot open):
		// say why at once instead of after the 30 s.
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats on %s: %s", listen, msg)
	}
	return &Server{srv: srv}, nil
}

// URL is the client URL, e.g. nats://127.0.0.1:4222.
func (s *Server) URL() string { return s.srv.ClientURL() }

// Shutdown stops the server and waits until it has (JetStream flushes
// its files). It is safe to call more than once.
func (s *Server) Shutdown() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < -1 || n > 65535 {
		return "", 0, fmt.Errorf("port %q: want -1 (any free port) to 65535", p)
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return h, n, nil
}

// logger adapts the server's Logger interface to slog. The first fatal
// error also goes to fatal, for Start to report.
type logger struct {
	log   *slog.Logger
	debug bool
	fatal chan string
}

func (l *logger) Noticef(format string, v ...any) {
	if l.debug {
		l.log.Debug(fmt.Sprintf(format, v...))
	}
}
func (l *logger) Warnf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *logger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	select {
	case l.fatal <- msg:
	default:
	}
}
func (l *logger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *logger) Debugf(format string, v ...any) {
	if l.debug {
		l.log.Debug(fmt.Sprintf(format, v...))
	}
}
func (l *logger) Tracef(string, ...any) {}
