// Package livetest builds the typed settings of the live sinks for their
// tests, from config values with config's defaults filled in, as
// internal/wiring builds them for pgcdc. It is a test helper: production
// code does not import it.
package livetest

import (
	"bufio"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Settings returns the live settings of a sink of type typ (sse or
// websocket) configured with b, and b with the defaults filled in (for
// the protocol's own settings).
func Settings(typ string, b config.Broadcast) (live.Settings, config.Broadcast) {
	b = hubtest.Broadcast(typ, b)
	return live.Settings{
		Hub: hub.Config{MaxEvents: b.Replay.MaxEvents, MaxBytes: b.Replay.MaxBytes, MaxAge: b.Replay.MaxAge,
			ClientBuffer: b.ClientBuffer, Heartbeat: b.Heartbeat},
		AllowedOrigins: b.AllowedOrigins,
		WriteTimeout:   b.WriteTimeout,
	}, b
}

// NextSSE reads the next message of an SSE stream: its event name, id
// and data (data lines joined), skipping comments and the retry hint. A
// stream that ends first fails the test.
func NextSSE(t testing.TB, r *bufio.Reader) (event, id, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("SSE stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if data != "" || event != "" {
				return event, id, data
			}
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			data += line[6:]
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		}
	}
}
