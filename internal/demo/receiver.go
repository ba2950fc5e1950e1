package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// Receiver is the demo's webhook receiver on loopback: it accepts
// requests (2xx) except a share of them that it answers 503, so that the
// webhook sink retries and the dashboard's health panel has something to
// show. It never reads what it receives beyond draining the body.
type Receiver struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

// StartReceiver listens on a free loopback port and answers failRate
// (0 to 1) of the requests 503.
func StartReceiver(failRate float64) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo webhook receiver: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		if rand.Float64() < failRate {
			http.Error(w, "the demo receiver fails now and then", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	rc := &Receiver{URL: "http://" + ln.Addr().String() + "/hooks", ln: ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		if err := rc.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return rc, nil
}

// Close stops the receiver within ctx.
func (rc *Receiver) Close(ctx context.Context) error { return rc.srv.Shutdown(ctx) }
