package httpserver_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial, and its key, to cert and key, and returns it.
func writeCert(t *testing.T, cert, key string, serial int64) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "pgcdc test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(k)
	// Written beside and renamed over, as a renewal tool does.
	for path, block := range map[string]*pem.Block{cert: {Type: "CERTIFICATE", Bytes: der}, key: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestTLS: HTTPS with HTTP/2 for SSE (an HTTP/2 client reads the stream
// through the ResponseWriter path), HTTP/1.1 for the WebSocket upgrade
// (the server offers both by ALPN), a certificate swapped on disk picked
// up without a restart, and a rejected origin.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, 1)
	st := newStack(t, config.Server{TLS: config.ServerTLS{CertFile: certFile, KeyFile: keyFile}}, nil)
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}

	resp, err := client.Get(st.base + "/events?table=orders")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("SSE over TLS: %s %s, want HTTP/2 200", resp.Proto, resp.Status)
	}
	var g hubtest.Gen
	e := hubtest.Order(g.Next(), 0, pipeline.OpInsert, 1, "new", 1)
	st.send(e)
	s := &stream{resp: resp, r: newReader(resp.Body)}
	if _, id, _ := s.next(t); id != e.ID() {
		t.Fatalf("SSE over HTTP/2: id %s, want %s", id, e.ID())
	}

	addr := strings.TrimPrefix(st.base, "https://")
	for _, proto := range []string{"h2", "http/1.1"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{proto}})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ConnectionState().NegotiatedProtocol; got != proto {
			t.Errorf("ALPN %s: negotiated %q", proto, got)
		}
		c.Close()
	}

	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	wc, _, err := d.Dial("wss://"+addr+"/ws?table=orders", nil)
	if err != nil {
		t.Fatalf("WebSocket over TLS: %v", err)
	}
	wc.Close()
	_, resp2, err := d.Dial("wss://"+addr+"/ws", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp2 == nil || resp2.StatusCode != 403 {
		t.Fatalf("WebSocket from a foreign origin: %v %v, want 403", resp2, err)
	}

	// Swap the files: new connections get the new certificate.
	second := writeCert(t, certFile, keyFile, 2)
	pool.AddCert(second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		serial := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
		c.Close()
		if serial == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the swapped certificate was not served within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTLSBadFiles: a missing or broken pair fails New, naming the file.
func TestTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o600)
	for _, tc := range []config.ServerTLS{{CertFile: filepath.Join(dir, "none.pem"), KeyFile: junk}, {CertFile: junk, KeyFile: junk}} {
		cfg := config.Server{Listen: "127.0.0.1:0", TLS: tc}
		if _, err := newServer(cfg); err == nil || !strings.Contains(err.Error(), "server.tls") {
			t.Errorf("%+v: %v", tc, err)
		}
	}
}

// dialFrom opens a TCP connection to addr from the loopback address ip
// (127.0.0.x), so that the server sees another client address.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// served reports whether a GET /healthz on c gets 200; a connection the
// server closed at once (a limit) gets an error.
func served(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return false
	}
	b := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, b, 12)
	return strings.HasPrefix(string(b[:n]), "HTTP/1.1 200")
}

// closedByServer reports whether the server closes c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestLimits: each server.limits limit is enforced and counted, and
// slow-loris clients do not keep another client from being served.
func TestLimits(t *testing.T) {
	st := newStack(t, config.Server{Limits: config.Limits{
		Connections: 6, ConnectionsPerIP: 3, SubscriptionsPerConnection: 2, ClientMessagesPerSecond: 5,
		MaxHeaderBytes: 4 << 10, ReadHeaderTimeout: 700 * time.Millisecond,
	}, MetricsToken: "metrics-token-for-the-test"}, nil)
	addr := strings.TrimPrefix(st.base, "http://")

	// Slow loris: three connections from 127.0.0.1 send a header byte
	// by byte and never finish it.
	var loris []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 1")
		loris = append(loris, c)
	}
	if c := dialFrom(t, "127.0.0.1", addr); served(c) {
		t.Error("a fourth connection from one address was served (connections_per_ip 3)")
	}
	other := dialFrom(t, "127.0.0.2", addr)
	if !served(other) {
		t.Error("another address was not served while slow-loris connections were open")
	}
	other.Close()
	for i, c := range loris {
		if !closedByServer(c, 5*time.Second) {
			t.Errorf("slow-loris connection %d was not cut after read_header_timeout", i)
		}
	}
	waitSlot := func() {
		// The closed connections' slots come back when the server sees
		// them closed.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.Dial("tcp", addr); err == nil {
				ok := served(c)
				c.Close()
				if ok {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no connection slot came back within 5s")
	}
	waitSlot()
	// In total: 3 from one address, 3 from another, then a seventh.
	var open []net.Conn
	for i := range 6 {
		// Retried briefly: the server frees the slots of connections the
		// client closed when it sees them closed.
		for try := 0; ; try++ {
			c := dialFrom(t, []string{"127.0.0.3", "127.0.0.4"}[i%2], addr)
			if served(c) {
				open = append(open, c)
				break
			}
			if try == 40 {
				t.Fatalf("connection %d not served", i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if served(dialFrom(t, "127.0.0.5", addr)) {
		t.Error("a seventh connection was served (connections 6)")
	}
	for _, c := range open {
		c.Close()
	}
	waitSlot()

	// Header bytes: 431.
	req, _ := http.NewRequest("GET", st.base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 8<<10))
	waitSlot()
	tr := &http.Transport{DisableKeepAlives: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("an 8 KiB header: %v %v, want 431", resp, err)
	}

	// Subscriptions per connection, then messages per second.
	wc, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	wc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, id := range []string{"a", "b", "c"} {
		wc.WriteJSON(map[string]any{"type": "subscribe", "id": id, "table": "orders"})
		var m map[string]any
		if err := wc.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "subscribed", false: "error"}[i < 2]; m["type"] != want || i == 2 && !strings.Contains(jsonString(m), "subscriptions_per_connection") {
			t.Errorf("subscription %d: %v", i, m)
		}
	}
	for range 30 {
		if wc.WriteJSON(map[string]any{"type": "unsubscribe", "id": "x"}) != nil {
			break
		}
	}
	var ce *websocket.CloseError
	for {
		if _, _, err = wc.ReadMessage(); err != nil {
			break
		}
	}
	if !errors.As(err, &ce) || ce.Code != 1008 {
		t.Errorf("30 messages at once (limit 5/s): %v, want close 1008", err)
	}

	// /metrics needs its token; the hits were counted. The server frees
	// the closed WebSocket's slot when it sees it closed.
	// Each request on a connection of its own, made once a slot is free
	// (a kept-alive connection may be one the server is cutting).
	wc.Close()
	metrics := func(tok string) (int, string) {
		for try := 0; ; try++ {
			req, _ := http.NewRequest("GET", st.base+"/metrics", nil)
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := client.Do(req)
			if err == nil {
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if try == 40 {
				t.Fatal(err)
			}
			// Refused at the limit: a slot of a connection closed a
			// moment ago (the WebSocket, waitSlot's probe) is not back.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code, _ := metrics(""); code != 401 {
		t.Errorf("/metrics without its token: %d", code)
	}
	code, body := metrics("metrics-token-for-the-test")
	for _, l := range []string{"connections", "connections_per_ip", "subscriptions", "client_messages"} {
		if !strings.Contains(body, `pgcdc_http_limit_hits_total{limit="`+l+`"}`) {
			t.Errorf("/metrics (%d): no count of limit %s", code, l)
		}
	}
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func newServer(cfg config.Server) (*httpserver.Server, error) { return httpserver.New(cfg, nil) }
