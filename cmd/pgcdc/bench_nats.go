package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsembed"
)

// benchNATSSink returns the sink and the nats.embedded section of run i
// of pgcdc bench --sink nats: a JetStream server inside the pgcdc
// process, file storage in dir.
func benchNATSSink(dir string, i int) (sink, top string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("nats-%d.addr", i)), []byte(addr), 0o600); err != nil {
		return "", "", err
	}
	return "{name: out, type: nats, stream: {name: bench, create: true}}",
		fmt.Sprintf("nats: {embedded: {data_dir: %q, listen: %q}}\n", filepath.Join(dir, fmt.Sprintf("nats-%d", i)), addr), nil
}

// benchNATSCheck opens run i's store again and checks that the stream
// holds every row.
func benchNATSCheck(ctx context.Context, dir string, i, rows int) error {
	srv, err := natsembed.Start(natsembed.Options{DataDir: filepath.Join(dir, fmt.Sprintf("nats-%d", i)), Listen: "127.0.0.1:-1"})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := js.Stream(cctx, "bench")
	if err != nil {
		return fmt.Errorf("bench stream: %w", err)
	}
	info, err := st.Info(cctx)
	if err != nil {
		return err
	}
	if info.State.Msgs != uint64(rows) {
		return fmt.Errorf("the stream holds %d messages, want %d", info.State.Msgs, rows)
	}
	return nil
}

// benchStdoutRun times pgcdc run with the stdout sink on slot stdout_i.
func benchStdoutRun(ctx context.Context, self, dir, dsn string, i int, end string, devnull *os.File) (benchResult, error) {
	path := filepath.Join(dir, fmt.Sprintf("stdout-%d.yaml", i))
	cfg := fmt.Sprintf("source: {dsn: %q, slot: stdout_%d, publication: bench}\nsinks: [{name: out, type: stdout}]\nserver: {listen: \"127.0.0.1:0\"}\nlog: {level: warn}\n", dsn, i)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return benchResult{}, err
	}
	r, err := timeChild(exec.CommandContext(ctx, self, "run", "-c", path, "--until-lsn", end), devnull)
	if err != nil {
		return r, fmt.Errorf("pgcdc run (stdout): %w", err)
	}
	return r, nil
}
