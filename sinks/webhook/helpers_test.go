package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/logtest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// testSecret is a 32-byte key in the specification's form.
const testSecret = "whsec_" + "cGdjZGMtdGVzdC1zZWNyZXQtMzItYnl0ZXMtbG9uZyE="

// waitTimeout bounds every wait in these tests.
const waitTimeout = 20 * time.Second

// makeEvents returns n events in commit order, txSize per transaction.
// Their JSON is encoded up front, as the pipeline does before fan-out.
func makeEvents(n, txSize int) []*pipeline.Event {
	evs := make([]*pipeline.Event, n)
	ops := []pipeline.Op{pipeline.OpInsert, pipeline.OpUpdate, pipeline.OpDelete}
	for i := range evs {
		tx := i / txSize
		id := []byte(strconv.Itoa(i))
		e := &pipeline.Event{
			Op:         ops[i%len(ops)],
			Schema:     "public",
			Table:      []string{"orders", "users"}[tx%2],
			CommitLSN:  pipeline.LSN(0x16B3748 + uint64(tx)*0x100),
			Seq:        uint32(i % txSize),
			XID:        uint32(1000 + tx),
			CommitTime: time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC).Add(time.Duration(tx) * time.Millisecond),
			Key:        pipeline.Row{{Name: "id", Kind: pipeline.KindNumber, Value: id}},
			After: pipeline.Row{
				{Name: "id", Kind: pipeline.KindNumber, Value: id},
				{Name: "note", Kind: pipeline.KindString, Value: []byte(`"<b>a&b</b> ünïcode"`)},
			},
		}
		e.Encoded()
		evs[i] = e
	}
	return evs
}

// split cuts evs into pipeline batches of at most size events.
func split(evs []*pipeline.Event, size int) [][]*pipeline.Event {
	var out [][]*pipeline.Event
	for len(evs) > 0 {
		n := min(size, len(evs))
		out = append(out, evs[:n])
		evs = evs[n:]
	}
	return out
}

// feeder sends batches into an unbuffered inbox, like the pipeline, and
// records the order of their acknowledgements.
type feeder struct {
	in    chan *pipeline.Batch
	taken atomic.Int64 // batches the sink has received

	mu       sync.Mutex
	acked    []int
	total    int
	allAcked chan struct{}
}

// feed starts sending batches; it closes the inbox after the last one when
// closeAfter is set.
func feed(ctx context.Context, batches [][]*pipeline.Event, closeAfter bool) *feeder {
	f := &feeder{in: make(chan *pipeline.Batch), total: len(batches), allAcked: make(chan struct{})}
	if len(batches) == 0 {
		close(f.allAcked)
	}
	go func() {
		for i, evs := range batches {
			b := pipeline.NewBatch(evs, pipeline.LSN(i+1), func() { f.ack(i) })
			select {
			case f.in <- b:
				f.taken.Add(1)
			case <-ctx.Done():
				return
			}
		}
		if closeAfter {
			close(f.in)
		}
	}()
	return f
}

func (f *feeder) ack(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acked = append(f.acked, i)
	if len(f.acked) == f.total {
		close(f.allAcked)
	}
}

// ackedInOrder fails t unless exactly the first n batches were
// acknowledged, in order.
func (f *feeder) ackedInOrder(t *testing.T, n int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.acked) != n {
		t.Fatalf("%d batches acknowledged, want %d", len(f.acked), n)
	}
	for i, got := range f.acked {
		if got != i {
			t.Fatalf("acknowledgements out of order: %v", f.acked)
		}
	}
}

// runSink runs s on in and returns a channel with Run's result.
func runSink(ctx context.Context, s *Sink, in <-chan *pipeline.Batch) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, in) }()
	return done
}

// waitErr waits for Run's result.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return in time")
		return nil
	}
}

// waitClosed waits for ch to close.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// received is one request as a receiver saw it.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// recorder keeps every request a test receiver read.
type recorder struct {
	mu   sync.Mutex
	reqs []received
}

func (r *recorder) record(req *http.Request) received {
	body, _ := io.ReadAll(req.Body)
	rec := received{at: time.Now(), header: req.Header.Clone(), body: body}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return rec
}

func (r *recorder) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// eventIDs returns the ids of the events of a body in the plain format:
// one event, or an array of them.
func eventIDs(t *testing.T, body []byte) []string {
	t.Helper()
	type withID struct {
		ID string `json:"id"`
	}
	var evs []withID
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &evs); err != nil {
			t.Fatalf("body is not a JSON array of events: %v: %s", err, body)
		}
	} else {
		var one withID
		if err := json.Unmarshal(body, &one); err != nil {
			t.Fatalf("body is not a JSON event: %v: %s", err, body)
		}
		evs = []withID{one}
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

// idsOf returns the ids of evs.
func idsOf(evs []*pipeline.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID()
	}
	return ids
}

// webhookConfig returns a webhook sink config for url with fast retries
// and the defaults package config applies for the rest.
func webhookConfig(name, url string) Config {
	key, err := ParseKey(testSecret)
	if err != nil {
		panic(err)
	}
	return Config{
		Name:      name,
		URL:       url,
		Timeout:   5 * time.Second,
		Key:       key,
		MaxEvents: 1,
		MaxBytes:  1 << 20,
		Retry:     Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: time.Minute},
	}
}

// mustKey parses a secret or fails t.
func mustKey(t *testing.T, secret string) Key {
	t.Helper()
	key, err := ParseKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// testLogger logs into buf at debug level.
func testLogger(buf *logtest.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// resetConn closes the request's connection abruptly (RST), without an
// answer.
func resetConn(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}
