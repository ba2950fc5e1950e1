package httpserver

import (
	"crypto/subtle"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pgcdc/pgcdc/sinks/live"
)

// limitListener bounds the open connections it accepted, in total and
// per client IP (server.limits.connections, connections_per_ip): a
// connection over either is closed as soon as it is accepted, counted in
// pgcdc_http_limit_hits_total, and the listener goes on accepting. A
// connection counts until it is closed, hijacked streams included. With
// ReadHeaderTimeout this is what keeps slow-loris clients from starving
// the others: each holds a slot of its own address only until the
// timeout.
type limitListener struct {
	net.Listener
	total, perIP int

	mu   sync.Mutex
	open int
	byIP map[string]int
}

func newLimitListener(ln net.Listener, total, perIP int) net.Listener {
	if total <= 0 && perIP <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, total: total, perIP: perIP, byIP: map[string]int{}}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if limit := l.admit(ip); limit != "" {
			live.LimitHit(limit)
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

// admit takes a slot for ip, or returns the limit that refuses it.
func (l *limitListener) admit(ip string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total > 0 && l.open >= l.total:
		return "connections"
	case l.perIP > 0 && l.byIP[ip] >= l.perIP:
		return "connections_per_ip"
	}
	l.open++
	l.byIP[ip]++
	return ""
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// limitedConn gives its slot back when it is closed, once.
type limitedConn struct {
	net.Conn
	l    *limitListener
	ip   string
	once sync.Once
}

// Close implements net.Conn.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// metricsHandler serves /metrics; with a token, only to requests that
// bear it (Authorization: Bearer <token>, compared in constant time).
func metricsHandler(token string) http.Handler {
	h := promhttp.Handler()
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pgcdc metrics"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "/metrics needs Authorization: Bearer <server.metrics_token>", "reason": "invalid_token"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
