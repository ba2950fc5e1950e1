package bench

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

// natsSink returns the sink and the nats.embedded section of run i of
// pgcdc bench --sink nats: a JetStream server inside the pgcdc process,
// file storage under dir.
func natsSink(dir string, i int) (sink, top string, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	addr := l.Addr().String()
	l.Close()
	return "{name: out, type: nats, stream: {name: bench, create: true}}",
		fmt.Sprintf("nats: {embedded: {data_dir: %q, listen: %q}}\n", natsDir(dir, i), addr), nil
}

func natsDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("nats-%d", i)) }

// checkStream opens run i's store again and checks that the stream holds
// every row.
func checkStream(ctx context.Context, dir string, i, rows int) error {
	srv, err := natsembed.Start(natsembed.Options{DataDir: natsDir(dir, i), Listen: "127.0.0.1:-1"})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := js.Stream(cctx, "bench")
	if err != nil {
		return fmt.Errorf("the bench stream: %w", err)
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

// stdoutRun drains the WAL up to end with the stdout sink on slot
// stdout_i, for --sink nats's ratio.
func stdoutRun(ctx context.Context, self, dir, dsn string, i int, end string, devnull *os.File) (result, error) {
	path := filepath.Join(dir, fmt.Sprintf("stdout-%d.yaml", i))
	cfg := fmt.Sprintf("source: {dsn: %q, slot: stdout_%d, publication: bench}\nsinks: [{name: out, type: stdout}]\nserver: {listen: \"127.0.0.1:0\"}\nlog: {level: warn}\n", dsn, i)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return result{}, err
	}
	r, err := timeChild(exec.CommandContext(ctx, self, "run", "-c", path, "--until-lsn", end), devnull)
	if err != nil {
		return r, fmt.Errorf("pgcdc run (stdout): %w", err)
	}
	return r, nil
}
