package live

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/pgcdc/pgcdc/internal/measure"
)

// With --edges the run child reads the slot and writes every change to a
// JetStream stream on a server embedded in it (file storage), and that
// many `pgcdc edge` children read the stream and serve the clients: the
// latency then includes the hop through NATS.

// writerConfig is the run child's config with --edges: the slot to a nats
// sink on its embedded server, whose address it records for the edges.
func (e *env) writerConfig(seq int) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	e.natsAddr = l.Addr().String()
	l.Close()
	return fmt.Sprintf(`source: {dsn: %q, slot: bench_live_%d, publication: bench_live, create: true, tables: ["public.ticks"]}
server: {listen: "127.0.0.1:0"}
nats: {embedded: {data_dir: %q, listen: %q}}
sinks:
  - {name: stream, type: nats, stream: {name: bench_live_%d, create: true}}
log: {level: info}
`, e.cl.DSN(""), seq, filepath.Join(e.dir, fmt.Sprintf("nats-%d", seq)), e.natsAddr, seq), nil
}

// startEdges starts e.o.Edges edge children on the run's stream, appends
// them to procs, and returns their addresses once each serves.
func (e *env) startEdges(ctx context.Context, seq int, procs *[]*child) ([]string, error) {
	events := e.o.Rate*int((e.o.Warmup+e.o.Duration).Seconds()+1) + 1000
	buf := max(10000, 2*events)
	cfg := fmt.Sprintf(`source: {type: nats, nats: {url: "nats://%s", stream: bench_live_%d}}
server:
  listen: "127.0.0.1:0"
  limits: {connections: 1000000, connections_per_ip: 1000000}
sinks:
%slog: {level: info}
`, e.natsAddr, seq, liveSinks(buf))
	path := filepath.Join(e.dir, fmt.Sprintf("edge-%d.yaml", seq))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	var addrs []string
	for range e.o.Edges {
		c, err := spawnCmd(e.bin, "edge", path)
		if err != nil {
			return nil, err
		}
		*procs = append(*procs, c)
		addr, err := c.waitStreaming(ctx, time.Minute)
		if err != nil {
			return nil, fmt.Errorf("pgcdc edge: %w", err)
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// procsCPU is the CPU time of every pgcdc process of the run.
func procsCPU(procs []*child) (time.Duration, error) {
	var sum time.Duration
	for _, p := range procs {
		d, err := measure.ProcessCPU(p.pid())
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}
