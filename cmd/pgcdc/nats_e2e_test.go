package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsembed"
	"github.com/pgcdc/pgcdc/internal/natsembed/natsembedtest"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// natsConfig streams every table of the cluster to the stream "pgcdc" on
// the NATS servers at url.
func natsConfig(t *testing.T, cl *pgcluster.Cluster, url, extra string) string {
	return streamConfig(t, cl, fmt.Sprintf("{name: stream, type: nats, url: %q, stream: {name: pgcdc, create: true}}", url), extra)
}

// natsSetup starts a PostgreSQL cluster with the items table and an
// embedded NATS server.
func natsSetup(t *testing.T) (*pgcluster.Cluster, *natsembed.Server) {
	t.Helper()
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	return cl, natsembedtest.Start(t)
}

// streamRows reads the stream: every message's event id and the items
// row's primary key (0 for other tables), in stream order.
type streamRow struct {
	id string
	pk int64
}

func readStream(t *testing.T, url string) []streamRow {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := js.Stream(ctx, "pgcdc")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	var rows []streamRow
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		var e event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			t.Fatal(err)
		}
		if id := m.Headers().Get(jetstream.MsgIDHeader); id != e.ID {
			t.Fatalf("message header id %q, body id %q", id, e.ID)
		}
		r := streamRow{id: e.ID}
		if e.Table == "items" && e.Op == "insert" {
			if r.pk, err = parsePK(e.After["id"]); err != nil {
				t.Fatal(err)
			}
		}
		rows = append(rows, r)
		meta, _ := m.Metadata()
		if meta.Sequence.Stream >= info.State.LastSeq {
			return rows
		}
	}
}

// streamCount is the number of messages in the stream (0 if none yet).
func streamCount(url string) uint64 {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "pgcdc")
	if err != nil {
		return 0
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// waitStream waits until the stream holds at least n messages.
func waitStream(t *testing.T, url string, n uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for streamCount(url) < n {
		if time.Now().After(deadline) {
			t.Fatalf("stream has %d messages after %s, want %d", streamCount(url), timeout, n)
		}
		time.Sleep(50 * time.Millisecond) // polling the server: there is no signal to wait on
	}
}

// checkStream verifies the stream holds every row 1..workRows exactly
// once, with strictly increasing event ids.
func checkStream(t *testing.T, rows []streamRow) {
	t.Helper()
	seen := make(map[int64]int, workRows)
	for i, r := range rows {
		if i > 0 && r.id <= rows[i-1].id {
			t.Fatalf("stream message %d: id %s after %s: out of order or duplicated", i+1, r.id, rows[i-1].id)
		}
		if r.pk != 0 {
			seen[r.pk]++
		}
	}
	for pk := int64(1); pk <= workRows; pk++ {
		if seen[pk] != 1 {
			t.Fatalf("row %d is in the stream %d times, want exactly once", pk, seen[pk])
		}
	}
}

// TestNATSKillWriterMidWorkload: pgcdc run with a nats sink is SIGKILLed
// mid-workload and restarted; the stream has every row exactly once, in
// id order (the restart re-reads the unconfirmed tail and skips what the
// stream already has).
func TestNATSKillWriterMidWorkload(t *testing.T) {
	cl, srv := natsSetup(t)
	cfg := natsConfig(t, cl, srv.URL(), "")
	d1 := startDaemon(t, "run", "-c", cfg)
	d1.waitLog("msg=streaming")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workDone := make(chan error, 1)
	go func() { workDone <- workload(ctx, cl, nil) }()
	waitStream(t, srv.URL(), workRows/3, 2*time.Minute)
	d1.kill()
	killedAt := streamCount(srv.URL())
	d2 := startDaemon(t, "run", "-c", cfg)
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	waitStream(t, srv.URL(), workRows, 2*time.Minute)
	d2.stop()
	if !strings.Contains(d2.stderr(), "already_stored") && !strings.Contains(d2.stderr(), "streaming") {
		t.Logf("restart log:\n%s", d2.stderr())
	}
	rows := readStream(t, srv.URL())
	checkStream(t, rows)
	t.Logf("SIGKILL with %d events in the stream: all %d rows in it exactly once, in id order", killedAt, workRows)
}

// TestNATSOutageWaits: the NATS server is stopped mid-workload for a few
// seconds: pgcdc waits (it confirms nothing the stream does not have),
// and after the restart the stream has every row exactly once in order.
func TestNATSOutageWaits(t *testing.T) {
	t.Parallel() // mostly waiting (an outage, a lease): runs beside the other waiting tests
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := natsembedtest.StartAt(t, dir, "127.0.0.1:-1")
	url := srv.URL()
	d := startDaemon(t, "run", "-c", natsConfig(t, cl, url, ""))
	d.waitLog("msg=streaming")
	workDone := make(chan error, 1)
	go func() { workDone <- workload(context.Background(), cl, nil) }()
	waitStream(t, url, workRows/4, 2*time.Minute)
	srv.Shutdown()
	// While it is down, the slot's confirmed position stands still: pgcdc
	// confirms nothing the stream did not acknowledge.
	conn := sqlConn(t, cl)
	confirmed := func() string {
		var lsn string
		if err := conn.QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'pgcdc'`).Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		return lsn
	}
	time.Sleep(1500 * time.Millisecond) // the outage itself: lengths of time, not waits for an event
	confirmedDuring := confirmed()
	time.Sleep(2500 * time.Millisecond) // more than two status intervals (1s)
	if later := confirmed(); later != confirmedDuring {
		t.Fatalf("the slot was confirmed from %s to %s while NATS was down", confirmedDuring, later)
	}
	natsembedtest.StartAt(t, dir, strings.TrimPrefix(url, "nats://"))
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	waitStream(t, url, workRows, 2*time.Minute)
	d.stop()
	if !strings.Contains(d.stderr(), "nats connection lost") {
		t.Errorf("no backpressure warning in the log:\n%s", d.stderr())
	}
	rows := readStream(t, url)
	checkStream(t, rows)
	t.Logf("NATS down for 4s mid-workload (slot confirmed position held at %s meanwhile): every row in the stream once, in order", confirmedDuring)
}

// TestNATSClusterNodeKilled: a 3-node JetStream cluster with a 3-replica
// stream; one node is killed mid-workload and restarted later; the stream
// has every row once, in order.
func TestNATSClusterNodeKilled(t *testing.T) {
	t.Parallel() // mostly waiting (an outage, a lease): runs beside the other waiting tests
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	c := natsembedtest.StartCluster(t, 3)
	cfg := writeConfig(t, fmt.Sprintf(`source:
  dsn: %q
  create: true
  status_interval: 1s
server: {listen: "127.0.0.1:0"}
sinks:
  - {name: stream, type: nats, url: %q, stream: {name: pgcdc, create: true, replicas: 3}}
`, cl.DSN(""), c.URLs()))
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLog("msg=streaming")
	workDone := make(chan error, 1)
	go func() { workDone <- workload(context.Background(), cl, nil) }()
	url := "nats://" + c.Opts[1].Listen
	waitStream(t, url, workRows/3, 3*time.Minute)
	c.Members[0].Shutdown()
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	waitStream(t, url, workRows, 3*time.Minute)
	c.StartMember(0)
	d.stop()
	checkStream(t, readStream(t, url))
	t.Logf("node n0 of 3 killed at a third of the workload: every row in the stream once, in order")
}

// haReplicas starts n pgcdc run replicas with the HA lease on the NATS
// server at url.
func haReplicas(t *testing.T, cl *pgcluster.Cluster, url string, lease time.Duration, n int) []*daemon {
	cfg := natsConfig(t, cl, url, fmt.Sprintf("ha: {nats: {url: %q}, lease: %s}\n", url, lease))
	var ds []*daemon
	for range n {
		ds = append(ds, startDaemon(t, "run", "-c", cfg))
	}
	return ds
}

// leaderOf waits until one of ds logs that it became the leader and
// returns its index.
func leaderOf(t *testing.T, ds ...*daemon) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for i, d := range ds {
			if strings.Contains(d.stderr(), "became the leader") {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond) // several logs to watch: poll
	}
	t.Fatal("no replica became the leader within a minute")
	return -1
}

// TestHAKillLeader: two replicas with ha:; the leader is SIGKILLed
// mid-workload; the standby takes over (the takeover time is logged);
// the stream has every row exactly once, in id order.
func TestHAKillLeader(t *testing.T) {
	cl, srv := natsSetup(t)
	const lease = 2 * time.Second
	ds := haReplicas(t, cl, srv.URL(), lease, 2)
	li := leaderOf(t, ds...)
	leader, standby := ds[li], ds[1-li]
	leader.waitLog("msg=streaming")
	standby.waitLog("standby: another replica holds the lease")
	// A third replica, stopped while a standby, exits cleanly.
	third := haReplicas(t, cl, srv.URL(), lease, 1)[0]
	third.waitLog("standby: another replica holds the lease")
	third.stop()
	workDone := make(chan error, 1)
	go func() { workDone <- workload(context.Background(), cl, nil) }()
	waitStream(t, srv.URL(), workRows/3, 2*time.Minute)
	leader.kill()
	killed := time.Now()
	atKill := streamCount(srv.URL())
	standby.waitLog("became the leader")
	took := time.Since(killed)
	standby.waitLog("msg=streaming")
	streaming := time.Since(killed)
	// The first event after the kill, in the stream.
	deadline := time.Now().Add(time.Minute)
	for streamCount(srv.URL()) <= atKill && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the server
	}
	firstEvent := time.Since(killed)
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	waitStream(t, srv.URL(), workRows, 2*time.Minute)
	standby.stop()
	checkStream(t, readStream(t, srv.URL()))
	t.Logf("lease %s: leader SIGKILLed with %d events in the stream; standby leader after %s, streaming after %s, first new event in the stream after %s",
		lease, atKill, took.Round(time.Millisecond), streaming.Round(time.Millisecond), firstEvent.Round(time.Millisecond))
	if took > 2*lease+time.Second {
		t.Errorf("takeover took %s, want about one lease (%s)", took, lease)
	}
}

// TestHAZombieLeader: the leader is paused (SIGSTOP) past its lease; the
// standby takes over; the old leader, resumed (SIGCONT), gives up and
// exits non-zero without appending: the stream has every row once, in
// order.
func TestHAZombieLeader(t *testing.T) {
	t.Parallel() // mostly waiting (an outage, a lease): runs beside the other waiting tests
	cl, srv := natsSetup(t)
	const lease = 2 * time.Second
	ds := haReplicas(t, cl, srv.URL(), lease, 2)
	li := leaderOf(t, ds...)
	zombie, standby := ds[li], ds[1-li]
	zombie.waitLog("msg=streaming")
	workDone := make(chan error, 1)
	go func() { workDone <- workload(context.Background(), cl, nil) }()
	waitStream(t, srv.URL(), workRows/3, 2*time.Minute)
	if err := zombie.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	standby.waitLog("became the leader")
	standby.waitLog("msg=streaming")
	waitStream(t, srv.URL(), streamCount(srv.URL())+100, time.Minute) // the new leader appends
	if err := zombie.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-zombie.done:
	case <-time.After(time.Minute):
		t.Fatal("the resumed old leader did not exit within a minute")
	}
	if zombie.err == nil || !strings.Contains(zombie.stderr(), "lost the ha lease") {
		t.Fatalf("old leader exited with %v; want a lost-lease error; stderr:\n%s", zombie.err, zombie.stderr())
	}
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	waitStream(t, srv.URL(), workRows, 2*time.Minute)
	standby.stop()
	checkStream(t, readStream(t, srv.URL()))
}
