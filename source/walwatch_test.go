package source

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// logRecorder is a slog.Handler that keeps the records and signals each.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	notify  chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{notify: make(chan struct{}, 1)} }

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records have msg containing sub.
func (h *logRecorder) count(sub string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if strings.Contains(r.Message, sub) {
			n++
		}
	}
	return n
}

// wait returns once a record containing sub was logged, failing the test
// after a deadline.
func (h *logRecorder) wait(t *testing.T, sub string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for h.count(sub) == 0 {
		select {
		case <-h.notify:
		case <-deadline:
			t.Fatalf("no log record containing %q", sub)
		}
	}
}

// TestRetainedWALWarning: while the sinks do not acknowledge, the slot
// retains WAL; past source.retained_wal_warn the source warns once and
// the gauge shows the amount.
func TestRetainedWALWarning(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY, pad text)`)
	logs := newLogRecorder()
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	src := New(conn, Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"*"}, Create: true,
		StatusInterval: 100 * time.Millisecond, RetainedWALWarn: 4 << 20}, slog.New(logs))
	if err := src.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	stuck := &fakeProgress{}
	stuck.set(0, true) // nothing is ever acknowledged
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, newCollector(), stuck) }()
	defer func() { cancel(); <-done }()
	mustPsql(t, cl, `INSERT INTO t SELECT i, repeat('x', 200) FROM generate_series(1, 40000) i`)
	logs.wait(t, "retains more WAL than source.retained_wal_warn")
	time.Sleep(500 * time.Millisecond) // five more measurements: still one warning
	if n := logs.count("retains more WAL"); n != 1 {
		t.Errorf("%d warnings for one crossing, want 1", n)
	}
	var m dto.Metric
	if err := metricRetainedWAL.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetGauge().GetValue(); got < 4<<20 {
		t.Errorf("pgcdc_source_retained_wal_bytes = %v, want at least 4 MiB", got)
	}
}

// TestSlotLost: a slot the server invalidated (max_slot_wal_keep_size
// passed while nobody read it) fails check and stops run with one line
// that says what was lost and how to recover.
func TestSlotLost(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"max_slot_wal_keep_size": "1MB"}})
	ctx := context.Background()
	mustPsql(t, cl, `CREATE TABLE t (id int PRIMARY KEY)`)
	cfg := Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"*"}, Create: true, ConfigPath: "p.yaml"}
	newTestSource(t, cl, cfg) // creates the slot; nobody reads it
	for i := range 4 {
		mustPsql(t, cl, `INSERT INTO t VALUES (`+strconv.Itoa(i)+`); SELECT pg_switch_wal()`)
	}
	mustPsql(t, cl, `CHECKPOINT`)
	if out, _ := cl.Psql(ctx, "", `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'pgcdc'`); strings.TrimSpace(out) != "lost" {
		t.Fatalf("the test did not invalidate the slot: wal_status %q", strings.TrimSpace(out))
	}

	conn, db := connectSQL(t, cl.DSN(""))
	fs, err := Preflight(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := findingOf(fs, "slot"); f.Severity != SevError || !errors.Is(f.Err, ErrSlotLost) || !strings.Contains(f.Fix, "pgcdc slot drop -c p.yaml") {
		t.Errorf("check on a lost slot: %+v", f)
	}

	// Run (past a Prepare that would refuse) stops with the explanation.
	src := New(conn, cfg, nil)
	err = src.Run(ctx, newCollector(), newCollector())
	if !errors.Is(err, ErrSlotLost) || !IsFatal(err) {
		t.Fatalf("Run on a lost slot: %v", err)
	}
	for _, want := range []string{"invalidated", "changes since pgcdc last confirmed are lost", "pgcdc slot drop -c p.yaml", "pgcdc slot create -c p.yaml", "snapshot"} {
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Run's error lacks %q (or is not one line): %v", want, err)
		}
	}
}
