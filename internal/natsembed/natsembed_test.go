package natsembed

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRestartKeepsTheStream: file storage in DataDir survives a restart
// of the server on the same directory.
func TestRestartKeepsTheStream(t *testing.T) {
	dir := t.TempDir()
	publish := func(srv *Server) uint64 {
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "s", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "s.x", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	srv, err := Start(Options{DataDir: dir, Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	if n := publish(srv); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	srv.Shutdown()
	srv.Shutdown() // idempotent
	srv, err = Start(Options{DataDir: dir, Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if n := publish(srv); n != 2 {
		t.Fatalf("%d messages after a restart, want 2 (the first one kept)", n)
	}
}

func TestStartRefuses(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "data_dir is required"},
		{Options{DataDir: t.TempDir(), Listen: "nope"}, "listen"},
		{Options{DataDir: t.TempDir(), Listen: "127.0.0.1:70000"}, "port"},
	} {
		if _, err := Start(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%+v) = %v, want %q", c.o, err, c.want)
		}
	}
}

// TestStartPortTaken: a client port another process holds fails at once,
// with the server's reason, not after the 30 s readiness wait.
func TestStartPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Start(Options{DataDir: t.TempDir(), Listen: l.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("Start on a taken port: %v", err) // the 30 s wait says "not accepting connections"
	}
}
