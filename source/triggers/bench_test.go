package triggers

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/stdout"
	"github.com/pgcdc/pgcdc/source"
)

// benchRows is the workload of BenchmarkTriggers.
const benchRows = 100000

// BenchmarkTriggers measures, for benchRows single-row insert
// transactions from one connection: the writer's throughput without and
// with the capture triggers (the overhead on the application), then, on
// the same workload, the relay's events/s through the pipeline to a stdout
// sink and the replication source's on its slot, one after the other.
//
//	go test -run=^$ -bench=BenchmarkTriggers -benchtime=1x ./source/triggers/
func BenchmarkTriggers(b *testing.B) {
	cl := pgclustertest.Start(b, pgcluster.Options{})
	ctx := context.Background()
	psql := func(sql string) {
		if _, err := cl.Psql(ctx, "", sql); err != nil {
			b.Fatal(err)
		}
	}
	psql(`CREATE TABLE plain (id bigint PRIMARY KEY, note text, amount numeric, at timestamptz);
CREATE TABLE captured (id bigint PRIMARY KEY, note text, amount numeric, at timestamptz);`)
	writer, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		b.Fatal(err)
	}
	defer writer.Close(ctx)
	insert := func(table string) float64 {
		start := time.Now()
		for i := 1; i <= benchRows; i++ {
			if _, err := writer.Exec(ctx, `INSERT INTO `+table+` VALUES ($1::bigint, 'note ' || $1::bigint, $1::bigint::numeric / 7, now())`, i); err != nil {
				b.Fatal(err)
			}
		}
		return benchRows / time.Since(start).Seconds()
	}
	b.ResetTimer()
	without := insert("plain")

	conn, err := source.NewConnector(cl.DSN(""))
	if err != nil {
		b.Fatal(err)
	}
	admin, err := conn.SQL(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, _, err := (Objects{}).Install(ctx, admin, []string{"public.captured"}, true); err != nil {
		b.Fatal(err)
	}
	psql(`CREATE PUBLICATION bench FOR TABLE captured`)
	if _, err := source.CreateSlot(ctx, admin, "bench"); err != nil {
		b.Fatal(err)
	}
	with := insert("captured")

	relaySrc := New(conn, Config{Tables: []string{"public.captured"}, PollInterval: 100 * time.Millisecond}, nil)
	relayRate := drain(b, relaySrc)
	replSrc := source.New(conn, source.Config{Slot: "bench", Publication: "bench", Tables: []string{"public.captured"}, BatchEvents: 1024}, nil)
	replRate := drain(b, replSrc)
	b.StopTimer()

	b.ReportMetric(without, "inserts/s-plain")
	b.ReportMetric(with, "inserts/s-triggers")
	b.ReportMetric(relayRate, "events/s-relay")
	b.ReportMetric(replRate, "events/s-replication")
	b.Logf("%d single-row inserts: %.0f/s without triggers, %.0f/s with (%.0f%% of the plain rate); drained to stdout: trigger relay %.0f events/s, replication source %.0f events/s",
		benchRows, without, with, 100*with/without, relayRate, replRate)
}

// drain runs src through a pipeline to a stdout sink until benchRows
// events are out, and returns the events/s from the start of Prepare.
func drain(b *testing.B, src interface {
	pipeline.Source
	Prepare(context.Context) error
}) float64 {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &lineCounter{want: benchRows, done: make(chan struct{})}
	start := time.Now()
	if err := src.Prepare(ctx); err != nil {
		b.Fatal(err)
	}
	p := pipeline.New(src, nil, []pipeline.Output{{Sink: stdout.New("out", w)}}, pipeline.Options{})
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	select {
	case <-w.done:
	case err := <-errc:
		b.Fatalf("pipeline stopped: %v", err)
	case <-time.After(5 * time.Minute):
		b.Fatalf("drained only %d of %d events in 5 minutes", w.n.Load(), benchRows)
	}
	rate := benchRows / time.Since(start).Seconds()
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return rate
}

// lineCounter counts JSON lines and closes done at want.
type lineCounter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *lineCounter) Write(p []byte) (int, error) {
	if c.n.Add(int64(bytes.Count(p, []byte{'\n'}))) >= c.want && c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	return len(p), nil
}
