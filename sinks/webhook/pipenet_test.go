package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
)

// pipeNet is an in-memory network for tests under testing/synctest: a real
// http.Server and http.Transport talk over net.Pipe connections, whose
// blocking the bubble can see, so fake time advances only when both sides
// wait. It is the listener of the server.
type pipeNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// startPipeServer serves h on a new pipeNet and returns a transport that
// dials it, whatever the URL's host. Both are closed when the test ends.
func startPipeServer(t *testing.T, h http.Handler) http.RoundTripper {
	p := &pipeNet{conns: make(chan net.Conn), closed: make(chan struct{})}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(p) }()
	tr := &http.Transport{DialContext: p.dial}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return tr
}

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.closed:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.closed:
		return nil, errors.New("connection refused")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
