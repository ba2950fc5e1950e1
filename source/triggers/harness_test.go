package triggers

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

// collector is a pipeline.Writer and pipeline.Progress. With manual unset
// it acknowledges every batch at once; otherwise the test acknowledges by
// calling ackAll.
type collector struct {
	mu        sync.Mutex
	events    []*pipeline.Event
	batches   []*pipeline.Batch
	confirmed pipeline.LSN
	pending   []pipeline.LSN // ends not yet acknowledged (manual)
	manual    bool
	notify    chan struct{}
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

func (c *collector) Write(ctx context.Context, b *pipeline.Batch) error {
	c.mu.Lock()
	c.events = append(c.events, b.Events...)
	c.batches = append(c.batches, b)
	if b.End != 0 {
		if c.manual {
			c.pending = append(c.pending, b.End)
		} else if b.End > c.confirmed {
			c.confirmed = b.End
		}
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return nil
}

// ackAll confirms every transaction written so far.
func (c *collector) ackAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.pending {
		if e > c.confirmed {
			c.confirmed = e
		}
	}
	c.pending = nil
}

func (c *collector) Confirmed() pipeline.LSN {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.confirmed
}
func (c *collector) Idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) == 0
}
func (c *collector) Drain(ctx context.Context) bool { return true }

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// wait returns once n events arrived, failing the test after a deadline.
func (c *collector) wait(t *testing.T, n int) []*pipeline.Event {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		c.mu.Lock()
		if len(c.events) >= n {
			out := append([]*pipeline.Event(nil), c.events...)
			c.mu.Unlock()
			return out
		}
		got := len(c.events)
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %d events, have %d", n, got)
		}
	}
}

func mustPsql(t *testing.T, cl *pgcluster.Cluster, sql string) string {
	t.Helper()
	out, err := cl.Psql(context.Background(), "", sql)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// startCluster starts a cluster with schema and installs the triggers on
// every table of the public schema.
func startCluster(t *testing.T, schema string) *pgcluster.Cluster {
	t.Helper()
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if schema != "" {
		mustPsql(t, cl, schema)
	}
	conn := connect(t, cl)
	if _, _, err := (Objects{}).Install(context.Background(), conn, []string{"public.*"}, true); err != nil {
		t.Fatal(err)
	}
	return cl
}

func connect(t *testing.T, cl *pgcluster.Cluster) *pgx.Conn {
	t.Helper()
	c, err := source.NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.SQL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// relay runs a triggers Source into col until the test ends (or stop is
// called) and returns it.
func relay(t *testing.T, cl *pgcluster.Cluster, cfg Config, col *collector) (src *Source, stop func()) {
	t.Helper()
	conn, err := source.NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	cfg.ReconnectInitial, cfg.ReconnectMax = 50*time.Millisecond, 200*time.Millisecond
	src = New(conn, cfg, nil)
	ctx := context.Background()
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx, col, col) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("triggers.Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return src, stop
}
