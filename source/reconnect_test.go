package source

import (
	"context"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestReconnectSchedule: reconnects follow internal/backoff's schedule
// (the webhook's too) and give up once the next attempt would start past
// source.reconnect.max_elapsed. PostgreSQL "goes away" as a closed port.
func TestReconnectSchedule(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: every connect is refused at once
	conn, err := NewConnector("postgres://u:p@" + addr + "/db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		src := New(conn, Config{Slot: "s", Publication: "p", ReconnectInitial: time.Second,
			ReconnectMax: 4 * time.Second, ReconnectMaxElapsed: 10 * time.Second}, nil)
		src.jitter = func() float64 { return 0 }
		start := time.Now()
		// Failures at 0 s, 1 s, 3 s, 7 s; the next would start at 11 s.
		err := src.Run(context.Background(), newCollector(), newCollector())
		if took := time.Since(start); took != 7*time.Second {
			t.Errorf("gave up after %s, want 7s (delays 1s, 2s, 4s; the next 4s would pass 10s)", took)
		}
		if err == nil || !strings.Contains(err.Error(), "source.reconnect.max_elapsed") || !strings.Contains(err.Error(), "cannot reach PostgreSQL") {
			t.Errorf("Run: %v", err)
		}
	})
}
