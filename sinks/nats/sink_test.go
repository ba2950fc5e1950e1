package nats

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/logtest"
	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/internal/natsembed/natsembedtest"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/sinktest"
)

func TestConformance(t *testing.T) {
	srv := natsembedtest.Start(t)
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) pipeline.Sink {
			cfg := testConfig(srv.URL())
			cfg.Stream.Name = "c" + strings.ReplaceAll(strings.ToLower(t.Name()[len("TestConformance/"):]), "/", "_")
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Delivered: func(t *testing.T, s pipeline.Sink) []string {
			return streamIDs(t, srv.URL(), s.(*Sink).cfg.Stream.Name)
		},
	})
}

// TestMessages checks one message: subject, body, headers.
func TestMessages(t *testing.T) {
	srv := natsembedtest.Start(t)
	s, err := New(testConfig(srv.URL()), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan *pipeline.Batch, 1)
	bs := batches(1, 1, 0x16B3748)
	bs[0].Events[0].Schema, bs[0].Events[0].Table = "my.schema", "a b"
	in <- bs[0]
	close(in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Run(ctx, in); err != nil {
		t.Fatal(err)
	}
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := bs[0].Events[0]
	if m.Subject != "pgcdc.my_schema.a_b.insert" {
		t.Errorf("subject %q", m.Subject)
	}
	if string(m.Data) != string(e.Encoded()) {
		t.Errorf("body %s, want %s", m.Data, e.Encoded())
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != e.ID() {
		t.Errorf("Nats-Msg-Id %q, want %q", got, e.ID())
	}
	if got := m.Header.Get(natsconn.HeaderCommitTime); got != "2023-11-14T22:13:20Z" {
		t.Errorf("commit time header %q", got)
	}
	info, _ := st.Info(ctx)
	if got, want := m.Header.Get(natsconn.HeaderEpoch), natsconn.Epoch(info); got == "" || got != want {
		t.Errorf("epoch header %q, want %q", got, want)
	}
	if info.Config.Subjects[0] != "pgcdc.*.*.*" {
		t.Errorf("stream subjects %v", info.Config.Subjects)
	}
}

// TestRestartSkipsWhatIsStored: a second writer given an overlapping
// range (PostgreSQL re-sending the unconfirmed tail) appends only what is
// new, whatever the duplicate window (1s here, and waited out).
func TestRestartSkipsWhatIsStored(t *testing.T) {
	srv := natsembedtest.Start(t)
	all := batches(30, 7, 0x1000000)
	write := func(bs []*pipeline.Batch) {
		cfg := testConfig(srv.URL())
		cfg.Stream.Duplicates = time.Second
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		acks := newCounter()
		in := make(chan *pipeline.Batch, len(bs))
		for _, b := range counted(bs, acks) {
			in <- b
		}
		close(in)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Run(ctx, in); err != nil {
			t.Fatal(err)
		}
		acks.wait(t, len(bs), time.Second)
	}
	write(all[:20])
	time.Sleep(1100 * time.Millisecond) // past the duplicate window: dedupe cannot help
	write(all[10:])
	if got, want := streamIDs(t, srv.URL(), "t"), ids(all); !slices.Equal(got, want) {
		t.Fatalf("stream has %d ids, want %d exactly once in order\n got %v", len(got), len(want), got)
	}
}

// TestZombieIsFenced: two writers on one stream (a leader and an old
// leader resuming after a pause). Whoever appends first wins; the other's
// publish is refused (expected last sequence), it rereads the tail and
// appends only ids above it: the stream never goes out of order.
func TestZombieIsFenced(t *testing.T) {
	srv := natsembedtest.Start(t)
	all := batches(40, 5, 0x1000000)
	zombieIn := make(chan *pipeline.Batch, len(all))
	leaderIn := make(chan *pipeline.Batch, len(all))
	var zlog logtest.Buffer
	zombie, _ := New(testConfig(srv.URL()), slog.New(slog.NewTextHandler(&zlog, nil)))
	leader, _ := New(testConfig(srv.URL()), nil)
	zAcks, lAcks := newCounter(), newCounter()
	zb, lb := counted(all, zAcks), counted(all, lAcks)
	stopZ := runSink(zombie, zombieIn)
	for _, b := range zb[:10] { // the old leader writes 0..9 and pauses
		zombieIn <- b
	}
	zAcks.wait(t, 10, 30*time.Second)
	// The new leader starts from an older position (the confirmed one) and
	// writes up to 30 while the zombie is paused.
	stopL := runSink(leader, leaderIn)
	for _, b := range lb[5:30] {
		leaderIn <- b
	}
	lAcks.wait(t, 25, 30*time.Second)
	// The zombie wakes up believing the stream ends at its own 9 and
	// tries to append 10..19: refused, it resyncs and skips what is there.
	for _, b := range zb[10:20] {
		zombieIn <- b
	}
	zAcks.wait(t, 10, 30*time.Second)
	for _, b := range lb[30:] {
		leaderIn <- b
	}
	lAcks.wait(t, 10, 30*time.Second)
	if err := stopZ(); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	if !strings.Contains(zlog.String(), "wrong last sequence") {
		t.Errorf("the zombie was not fenced out; its log:\n%s", zlog.String())
	}
	if err := stopL(); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	if got, want := streamIDs(t, srv.URL(), "t"), ids(all); !slices.Equal(got, want) {
		t.Fatalf("stream has %d ids, want %d exactly once in order\n got %v", len(got), len(want), got)
	}
}

// TestOutageWaits: while the NATS server is down nothing is acknowledged
// and the sink stops taking batches (backpressure); after it comes back
// every event is in the stream once, in order.
func TestOutageWaits(t *testing.T) {
	dir := t.TempDir()
	srv := natsembedtest.StartAt(t, dir, "127.0.0.1:-1")
	url := srv.URL()
	listen := strings.TrimPrefix(url, "nats://")
	all := batches(60, 10, 0x1000000)
	acks := newCounter()
	cb := counted(all, acks)
	in := make(chan *pipeline.Batch) // unbuffered: a send succeeds only if the sink takes it
	cfg := testConfig(url)
	cfg.MaxInflight = 50
	s, _ := New(cfg, nil)
	stop := runSink(s, in)
	send := func(b *pipeline.Batch, d time.Duration) bool {
		select {
		case in <- b:
			return true
		case <-time.After(d):
			return false
		}
	}
	for _, b := range cb[:20] {
		if !send(b, 30*time.Second) {
			t.Fatal("sink did not take a batch")
		}
	}
	acks.wait(t, 20, 30*time.Second)
	srv.Shutdown()
	// The sink takes a few batches into its in-flight window, then stops.
	taken := 20
	for _, b := range cb[20:] {
		if !send(b, 3*time.Second) {
			break
		}
		taken++
	}
	if taken == len(cb) {
		t.Fatal("the sink took every batch while NATS was down: no backpressure")
	}
	acks.none(t, 2*time.Second)
	natsembedtest.StartAt(t, dir, listen)
	for _, b := range cb[taken:] {
		if !send(b, 60*time.Second) {
			t.Fatal("sink did not resume taking batches after NATS came back")
		}
	}
	acks.wait(t, len(cb)-20, 60*time.Second)
	if err := stop(); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	if got, want := streamIDs(t, url, "t"), ids(all); !slices.Equal(got, want) {
		t.Fatalf("stream has %d ids, want %d exactly once in order", len(got), len(want))
	}
}

func TestMissingStream(t *testing.T) {
	srv := natsembedtest.Start(t)
	cfg := testConfig(srv.URL())
	cfg.Stream.Create = false
	s, _ := New(cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.Run(ctx, make(chan *pipeline.Batch))
	if err == nil || !strings.Contains(err.Error(), "stream.create: true") {
		t.Fatalf("Run = %v, want an error naming stream.create", err)
	}
}
