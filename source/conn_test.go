package source

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestConnectSilentServer: a server that accepts the TCP connection and
// never answers gives one line with the cause and a hint, after the
// connect timeout, like the other connection failures.
func TestConnectSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		var held []net.Conn // accepted, never answered
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	defer func() { l.Close(); <-served }()
	conn, err := NewConnector("postgres://u:secret-pw@" + l.Addr().String() + "/db?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	for name, connect := range map[string]func(context.Context) error{
		"sql":         func(ctx context.Context) error { _, err := conn.SQL(ctx); return err },
		"replication": func(ctx context.Context) error { _, err := conn.Replication(ctx); return err },
	} {
		start := time.Now()
		err := connect(context.Background())
		if err == nil {
			t.Fatalf("%s: connected to a silent server", name)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, l.Addr().String()) || !strings.Contains(msg, "did not answer") ||
			!strings.Contains(msg, "connect_timeout") || strings.Contains(msg, "secret-pw") {
			t.Errorf("%s: want one line naming the address, the cause and the fix: %q", name, msg)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: took %s with connect_timeout=1", name, took)
		}
	}
	// A caller's own deadline is the caller's: returned as such.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := conn.SQL(ctx); err == nil || ctx.Err() == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("with the caller's deadline: %v", err)
	}
}
