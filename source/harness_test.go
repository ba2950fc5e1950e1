package source

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// collector is a pipeline.Writer and pipeline.Progress that acknowledges
// every batch at once and records the events.
type collector struct {
	mu        sync.Mutex
	events    []*pipeline.Event
	confirmed pipeline.LSN
	notify    chan struct{}
}

func newCollector() *collector { return &collector{notify: make(chan struct{}, 1)} }

func (c *collector) Write(ctx context.Context, b *pipeline.Batch) error {
	c.mu.Lock()
	c.events = append(c.events, b.Events...)
	if b.End > c.confirmed {
		c.confirmed = b.End
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return nil
}
func (c *collector) Confirmed() pipeline.LSN {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.confirmed
}
func (c *collector) Idle() bool                     { return true }
func (c *collector) Drain(ctx context.Context) bool { return true }

// wait returns once n events arrived, failing the test after a deadline.
func (c *collector) wait(t *testing.T, n int) []*pipeline.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
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

// startSource creates the schema, a slot and a publication for all tables,
// and runs a Source into a collector until the test ends.
func startSource(t *testing.T, schema string) (*pgcluster.Cluster, *collector, *Source) {
	t.Helper()
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	if schema != "" {
		if _, err := cl.Psql(ctx, "", schema); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	src := New(conn, Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"*"}, Create: true, BatchEvents: 100}, nil)
	if err := src.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	col := newCollector()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(runCtx, col, col) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("source.Run: %v", err)
		}
	})
	return cl, col, src
}

func mustPsql(t *testing.T, cl *pgcluster.Cluster, sql string) {
	t.Helper()
	if _, err := cl.Psql(context.Background(), "", sql); err != nil {
		t.Fatal(err)
	}
}

// connectSQL returns a Connector for dsn and an SQL connection closed
// when the test ends.
func connectSQL(t *testing.T, dsn string) (*Connector, *pgx.Conn) {
	t.Helper()
	conn, err := NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := conn.SQL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return conn, db
}
