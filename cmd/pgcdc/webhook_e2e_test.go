package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// The end-to-end proofs of the webhook sink: the real pgcdc binary, a real
// PostgreSQL, and a real HTTP receiver on loopback that verifies every
// signature and records what it accepted.

// TestWebhookChaosUnbatched: one event per request to a receiver that
// fails about 40 % of attempts (503, connection resets, and 2xx answers
// lost to a reset): every row arrives, in commit order, no gaps, all
// signed.
func TestWebhookChaosUnbatched(t *testing.T) {
	runChaos(t, 1, 60) // 300 rows: every failure costs a ~50 ms retry
}

// TestWebhookChaosBatched is the same with requests of up to 100 events
// and the full 10,000-row workload.
func TestWebhookChaosBatched(t *testing.T) {
	runChaos(t, 100, workTxns)
}

func runChaos(t *testing.T, maxEvents, txns int) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	rows := int64(txns * rowsPerTxn)
	var n503, nReset, nLost atomic.Int64
	rcv := newReceiver(t, receiverOptions{policy: func(n int, _ []recvEvent) answer {
		switch {
		case n%3 == 0:
			n503.Add(1)
			return answer503
		case n%20 == 1:
			nReset.Add(1)
			return answerReset
		case n%20 == 11:
			nLost.Add(1)
			return answerLost
		}
		return answerOK
	}})
	cfg := webhookConfig(t, cl, rcv.url(), fmt.Sprintf("    batch: {max_events: %d}\n", maxEvents), "")
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLog("msg=streaming")

	start := time.Now()
	if err := workloadTxns(context.Background(), cl, txns); err != nil {
		t.Fatalf("workload: %v", err)
	}
	rcv.waitDistinct(int(rows), 2*time.Minute)
	elapsed := time.Since(start)
	d.stop()

	rcv.checkHeaders()
	dups := checkOrder(t, rcv.snapshot(), 1, rows)
	rcv.mu.Lock()
	attempts, lostEvts, largest := rcv.attempts, rcv.lostEvts, rcv.maxEvents
	rcv.mu.Unlock()
	// A retry re-sends the same request, so the only repeats are the
	// events of requests whose 2xx was lost.
	if dups != lostEvts {
		t.Errorf("%d repeated events, want exactly the %d events of requests whose answer was lost", dups, lostEvts)
	}
	if largest > maxEvents {
		t.Errorf("a request carried %d events, batch.max_events is %d", largest, maxEvents)
	}
	logs := d.stderr()
	if got := strings.Count(logs, "webhook request failed, retrying"); got < int(n503.Load()+nReset.Load()+nLost.Load()) {
		t.Errorf("%d retries logged, want one per failed attempt (%d)", got, n503.Load()+nReset.Load()+nLost.Load())
	}
	checkNoSecret(t, "the log", logs)
	t.Logf("max_events %d: %d rows delivered in order in %.1fs over %d attempts (%d answered 503, %d reset, %d 2xx lost); %d repeats; largest request %d events",
		maxEvents, rows, elapsed.Seconds(), attempts, n503.Load(), nReset.Load(), nLost.Load(), dups, largest)
}

// TestWebhookKillInFlight SIGKILLs pgcdc while a request is in flight to a
// slow receiver (20 ms per request) and restarts it: every row arrives, in
// commit order, and the only repeats are the unconfirmed tail: the second
// run starts exactly at the slot's confirmed position, which never passed
// the request that was in flight.
func TestWebhookKillInFlight(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	conn := sqlConn(t, cl)
	inflight := make(chan []recvEvent, 1)
	resume := make(chan struct{})
	var once sync.Once
	rcv := newReceiver(t, receiverOptions{
		policy: func(int, []recvEvent) answer {
			time.Sleep(20 * time.Millisecond) // a slow receiver: this is its work, not synchronisation
			return answerOK
		},
		afterRecord: func(evs []recvEvent) {
			if evs[len(evs)-1].PK < workRows/3 {
				return
			}
			hold := false
			once.Do(func() { hold = true })
			if !hold {
				return
			}
			// Processed, but the answer waits until pgcdc is dead.
			inflight <- evs
			select {
			case <-resume:
			case <-time.After(time.Minute):
			}
		},
	})
	cfg := webhookConfig(t, cl, rcv.url(), "    batch: {max_events: 100}\n", "")
	d1 := startDaemon(t, "run", "-c", cfg)
	d1.waitLog("msg=streaming")

	workDone := make(chan error, 1)
	go func() { workDone <- workload(context.Background(), cl, nil) }()
	var held []recvEvent
	select {
	case held = <-inflight:
	case <-time.After(time.Minute):
		t.Fatalf("no request reached row %d within a minute", workRows/3)
	}
	d1.kill()
	confirmed := confirmedAfterExit(t, conn)
	rcv.setRun(2)
	close(resume)

	// The safety property: nothing of the unanswered request was confirmed.
	if confirmed > held[0].CommitLSN {
		t.Fatalf("slot confirmed %s, past the request in flight (its first event %s, commit %s)", confirmed, held[0].ID, held[0].CommitLSN)
	}

	d2 := startDaemon(t, "run", "-c", cfg)
	if err := <-workDone; err != nil {
		t.Fatalf("workload: %v", err)
	}
	rcv.waitDistinct(workRows, 2*time.Minute)
	d2.stop()
	rcv.checkHeaders()

	all := rcv.snapshot()
	dups := checkOrder(t, all, 1, workRows)
	var run1, run2 []recvEvent
	for _, e := range all {
		if e.Run == 1 {
			run1 = append(run1, e)
		} else {
			run2 = append(run2, e)
		}
	}
	last1 := run1[len(run1)-1].PK
	if checkOrder(t, run1, 1, last1) != 0 {
		t.Fatal("the first run delivered rows twice")
	}
	restart := run2[0]
	if checkOrder(t, run2, restart.PK, workRows) != 0 {
		t.Fatal("the second run delivered rows twice")
	}
	// The repeats are exactly the tail restart..last1 of the first run.
	if want := int(last1 - restart.PK + 1); dups != want {
		t.Fatalf("%d repeats, want %d: rows %d..%d", dups, want, restart.PK, last1)
	}
	// The second run starts exactly at the confirmed position: its first
	// transaction commits at or after it, the one before it before.
	if restart.CommitLSN < confirmed {
		t.Fatalf("second run started at commit %s, before the confirmed %s", restart.CommitLSN, confirmed)
	}
	if restart.PK > 1 {
		prev := run1[restart.PK-2] // run1 holds rows 1..last1 once each, in order
		if prev.CommitLSN >= confirmed {
			t.Fatalf("row %d (commit %s) was not re-sent though the slot had confirmed only %s", prev.PK, prev.CommitLSN, confirmed)
		}
	}
	answered := held[0].PK - restart.PK
	t.Logf("SIGKILL with a %d-event request in flight: all %d rows delivered in order; %d repeats = rows %d..%d "+
		"(%d answered 2xx but not yet confirmed, %d in flight); slot had confirmed %s",
		len(held), workRows, dups, restart.PK, last1, answered, len(held), confirmed)
}

// TestWebhookReceiverDown takes the receiver down (connection refused)
// while the workload runs and ~95 MB more rows are committed, for longer
// than wal_sender_timeout, then brings it back: everything is delivered in
// order, pgcdc's memory stayed bounded meanwhile (PostgreSQL kept the
// WAL), and the slot never confirmed past undelivered data.
func TestWebhookReceiverDown(t *testing.T) {
	const (
		bulkTxns   = 25
		bulkPerTxn = 2000
		// 1,920-byte payloads: below the TOAST threshold, so stored and
		// logged as is (incompressible to WAL).
		bulkPayload = `repeat(md5(g::text), 60)`
		total       = workRows + bulkTxns*bulkPerTxn
		// Budget of the pipeline for unacknowledged events.
		inflightBudget = 4 << 20
	)
	// A short wal_sender_timeout: the outage outlasts it while the source,
	// held back by the full sink, sends no status updates.
	cl := pgclustertest.Start(t, pgcluster.Options{Settings: map[string]string{"wal_sender_timeout": "2s"}})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	conn, bulkConn := sqlConn(t, cl), sqlConn(t, cl)
	rcv := newReceiver(t, receiverOptions{})
	cfg := webhookConfig(t, cl, rcv.url(), "    batch: {max_events: 100}\n",
		fmt.Sprintf("pipeline: {max_inflight_bytes: %d, sink_queue: 4}\n", inflightBudget))
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLog("msg=streaming")
	pid := d.cmd.Process.Pid

	// The workload, then (once the receiver is down) the bulk rows.
	isDown := make(chan struct{})
	produced := make(chan error, 1)
	go func() {
		if err := workload(context.Background(), cl, nil); err != nil {
			produced <- err
			return
		}
		<-isDown
		for i := range int64(bulkTxns) {
			first := workRows + 1 + i*bulkPerTxn
			if _, err := bulkConn.Exec(context.Background(), `INSERT INTO items (id, txn, payload)
SELECT g, -1, `+bulkPayload+` FROM generate_series($1::bigint, $2::bigint) g`, first, first+bulkPerTxn-1); err != nil {
				produced <- err
				return
			}
		}
		produced <- nil
	}()

	rcv.waitDistinct(1000, time.Minute)
	rcv.stop()
	close(isDown)
	downAt := time.Now()
	before := rcv.snapshot()
	base, err := vmRSS(pid)
	if err != nil {
		t.Fatal(err)
	}

	// Sample memory and the slot while down: until everything is
	// committed, then 3 s more, so that the outage outlasts
	// wal_sender_timeout (2 s) with the source stalled.
	var peak int64
	var maxConfirmed pipeline.LSN
	var retained int64
	samples := 0
	sample := func() {
		rss, err := vmRSS(pid)
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, rss)
		c, _, r := slotState(t, conn)
		maxConfirmed, retained = max(maxConfirmed, c), r
		samples++
	}
	tick := time.NewTicker(250 * time.Millisecond) // a measurement rate, not a synchronisation
	defer tick.Stop()
	var after int
	for done := false; !done || after < 12; {
		select {
		case err := <-produced:
			if err != nil {
				t.Fatalf("workload: %v", err)
			}
			done = true
		case <-tick.C:
			sample()
			if done {
				after++
			}
		case <-d.done:
			t.Fatalf("pgcdc exited while the receiver was down: %v\n%s", d.err, d.stderr())
		}
	}
	downFor := time.Since(downAt)
	rcv.start()
	rcv.waitDistinct(total, 2*time.Minute)
	d.stop()
	rcv.checkHeaders()

	all := rcv.snapshot()
	dups := checkOrder(t, all, 1, total)
	// The first event delivered after the outage was undelivered all
	// through it: the slot may not have confirmed past its commit.
	firstAfter := all[len(before)]
	for _, e := range all[len(before):] {
		if e.PK > before[len(before)-1].PK {
			firstAfter = e
			break
		}
	}
	if maxConfirmed > firstAfter.CommitLSN {
		t.Errorf("while down the slot confirmed %s, past undelivered row %d (commit %s)", maxConfirmed, firstAfter.PK, firstAfter.CommitLSN)
	}
	// PostgreSQL, not pgcdc, held the backlog: ~95 MB of WAL.
	if retained < 80<<20 {
		t.Errorf("the slot retained only %d MiB of WAL at the end of the outage: the outage was not real", retained>>20)
	}
	// The bound: the pipeline holds at most max_inflight_bytes (4 MiB) of
	// unacknowledged events, plus the batch the source is decoding (1,024
	// events, 2 MiB) and one request body (100 events, 0.2 MiB). Held as
	// wire bytes, decoded values and encoded JSON that is about 3 × 7 MiB
	// ≈ 21 MiB live, at most twice that in a GOGC=100 heap: 42 MiB; we
	// allow 64 MiB of growth. Holding the backlog instead would cost at
	// least twice its 95 MB (values plus encoded JSON).
	growth := (peak - base) >> 10
	if growth > 64 {
		t.Errorf("RSS grew by %d MiB while the receiver was down (%d → %d MiB): memory is not bounded", growth, base>>10, peak>>10)
	}
	// Status updates flow while the source waits on the sink, so the
	// server's wal_sender_timeout (2 s here) never drops the connection.
	if n := strings.Count(d.stderr(), "replication connection lost"); n > 0 {
		t.Errorf("the replication connection was lost %d times while the source waited on the sink", n)
	}
	t.Logf("receiver down %.1fs while %d rows (~%d MB) were committed: RSS %d → peak %d MiB over %d samples; slot retained %d MiB of WAL, confirmed %s ≤ %s; all %d rows delivered in order after it came back, %d repeats; %d replication reconnects",
		downFor.Seconds(), total-len(before), (bulkTxns*bulkPerTxn*1920)/1_000_000, base>>10, peak>>10, samples, retained>>20,
		maxConfirmed, firstAfter.CommitLSN, total, dups, strings.Count(d.stderr(), "replication connection lost"))
}

// TestWebhookDeadLetterReplay: a 400 sends the request to the dead-letter
// file and the stream moves on; once the receiver is fixed, `pgcdc
// deadletter replay` delivers exactly the dead-lettered events, with the
// same webhook-id and body, freshly signed, and reports them.
func TestWebhookDeadLetterReplay(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	conn := sqlConn(t, cl)
	var poisoned atomic.Bool
	poisoned.Store(true)
	rcv := newReceiver(t, receiverOptions{policy: func(_ int, evs []recvEvent) answer {
		for _, e := range evs {
			if e.PK == 4 && poisoned.Load() {
				return answer400
			}
		}
		return answerOK
	}})
	deadLetter := filepath.Join(t.TempDir(), "dead.jsonl")
	cfg := webhookConfig(t, cl, rcv.url(), fmt.Sprintf("    batch: {max_events: 10}\n    dead_letter: %s\n", deadLetter), "")
	d := startDaemon(t, "run", "-c", cfg)
	d.waitLog("msg=streaming")
	insertRows(t, conn, 1, 3)
	insertRows(t, conn, 4, 5)
	insertRows(t, conn, 6, 8)
	d.waitLog("written to the dead-letter file")
	insertRows(t, conn, 9, 9) // after the dead letter: proves the stream moved on
	rcv.waitPK(9, time.Minute)
	d.stop()
	rcv.checkHeaders()

	raw, err := os.ReadFile(deadLetter)
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecret(t, "the dead-letter file", string(raw))
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d dead-letter lines, want 1:\n%s", len(lines), raw)
	}
	var dl webhook.DeadLetter
	if err := json.Unmarshal([]byte(lines[0]), &dl); err != nil {
		t.Fatalf("dead-letter line: %v", err)
	}
	arr, _ := json.Marshal(dl.Events)
	dead, _, err := parseBody(arr)
	if err != nil {
		t.Fatalf("dead-letter events: %v", err)
	}
	if dl.Sink != "hooks" || dl.Status != 400 || dl.Attempts != 1 || !dl.Batch || !strings.Contains(dl.Response, "poison") ||
		dl.WebhookID != dead[0].ID+"-"+dead[len(dead)-1].ID {
		t.Fatalf("dead-letter record: %+v", dl)
	}
	rcv.mu.Lock()
	rejected := rcv.rejected
	rcv.mu.Unlock()
	if len(rejected) != 1 || fmt.Sprint(rejected[0]) != fmt.Sprint(dead) {
		t.Fatalf("dead-lettered %v, but the receiver rejected %v", dead, rejected)
	}
	// Accepted and dead-lettered rows partition 1..9.
	accepted := rcv.snapshot()
	got := make(map[int64]string)
	for _, e := range append(append([]recvEvent(nil), accepted...), dead...) {
		if _, dup := got[e.PK]; dup {
			t.Fatalf("row %d both accepted and dead-lettered, or accepted twice", e.PK)
		}
		got[e.PK] = e.ID
	}
	for pk := int64(1); pk <= 9; pk++ {
		if got[pk] == "" {
			t.Fatalf("row %d neither accepted nor dead-lettered", pk)
		}
	}

	// Fixed: replay delivers exactly the dead-lettered events.
	poisoned.Store(false)
	rcv.setRun(2)
	code, out := runOnce(t, "deadletter", "replay", "-c", cfg, "--sink", "hooks")
	if want := fmt.Sprintf(`sink "hooks": 1 requests (%d events): 1 accepted, 0 failed`, len(dead)); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("replay: exit %d, want 0 and %q:\n%s", code, want, out)
	}
	rcv.checkHeaders() // same webhook-id ⇒ same body as the original request; signature verifies
	var replayed []recvEvent
	for _, e := range rcv.snapshot() {
		if e.Run == 2 {
			e.Run = 0
			replayed = append(replayed, e)
		}
	}
	if fmt.Sprint(replayed) != fmt.Sprint(dead) {
		t.Fatalf("replay delivered %v, want exactly the dead-lettered %v", replayed, dead)
	}
	if raw, err := os.ReadFile(deadLetter); err != nil || len(bytes.TrimSpace(raw)) != 0 {
		t.Fatalf("dead-letter file after a full replay: %q, %v", raw, err)
	}
	code, again := runOnce(t, "deadletter", "replay", "-c", cfg, "--sink", "hooks")
	if code != 0 || !strings.Contains(again, `sink "hooks": 0 requests (0 events): 0 accepted, 0 failed`) {
		t.Fatalf("second replay: exit %d:\n%s", code, again)
	}
	t.Logf("row 4's request (%d events, %s) dead-lettered; the stream went on to row 9; replay delivered exactly them:\n%s",
		len(dead), dl.WebhookID, strings.TrimSpace(out))
}

// TestWebhookPermanentFailureStops: without dead_letter, a 400 stops
// `pgcdc run` with one clear error line naming the sink and the status;
// nothing past the rejected request is confirmed, so the next run, with
// the receiver fixed, delivers it.
func TestWebhookPermanentFailureStops(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	conn := sqlConn(t, cl)
	var poisoned atomic.Bool
	poisoned.Store(true)
	rcv := newReceiver(t, receiverOptions{policy: func(_ int, evs []recvEvent) answer {
		if evs[0].PK == 2 && poisoned.Load() {
			return answer400
		}
		return answerOK
	}})
	cfg := webhookConfig(t, cl, rcv.url(), "", "")
	d1 := startDaemon(t, "run", "-c", cfg)
	d1.waitLog("msg=streaming")
	for pk := int64(1); pk <= 3; pk++ {
		insertRows(t, conn, pk, pk)
	}
	code := waitExit(t, d1, time.Minute)
	logs := d1.stderr()
	expectFailure(t, code, logs, exitError, `pgcdc: sink "hooks": http://`, "answered 400", "row is poison", "dead_letter")
	checkNoSecret(t, "the log", logs)
	var errLine string
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, "pgcdc: ") {
			errLine = l
		}
	}
	confirmed := confirmedAfterExit(t, conn)
	rcv.mu.Lock()
	rejected := rcv.rejected
	rcv.mu.Unlock()
	if len(rejected) != 1 || rejected[0][0].PK != 2 {
		t.Fatalf("rejected requests %v, want one with row 2", rejected)
	}
	if confirmed > rejected[0][0].CommitLSN {
		t.Fatalf("slot confirmed %s, past the rejected row 2 (commit %s)", confirmed, rejected[0][0].CommitLSN)
	}
	if got := rcv.snapshot(); len(got) != 1 || got[0].PK != 1 {
		t.Fatalf("first run delivered %v, want row 1 only", got)
	}

	poisoned.Store(false)
	rcv.setRun(2)
	d2 := startDaemon(t, "run", "-c", cfg)
	rcv.waitPK(3, time.Minute)
	d2.stop()
	rcv.checkHeaders()
	all := rcv.snapshot()
	dups := checkOrder(t, all, 1, 3)
	if all[1].Run != 2 || all[1].PK > 2 {
		t.Fatalf("second run started with row %d, want row 1 or 2", all[1].PK)
	}
	t.Logf("exit %d with %q; slot confirmed %s ≤ row 2's commit %s; next run delivered rows 2..3 (%d repeats)",
		code, errLine, confirmed, rejected[0][0].CommitLSN, dups)
}

// TestWebhookReconnectWhileUndelivered drops the replication connection
// while the sink holds undelivered events (the receiver answers 503), as
// wal_sender_timeout does during a long receiver outage: after
// reconnecting, the source must not report their position as flushed, so
// that a crash then loses nothing.
func TestWebhookReconnectWhileUndelivered(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	if _, err := cl.Psql(context.Background(), "", itemsSchema); err != nil {
		t.Fatal(err)
	}
	conn := sqlConn(t, cl)
	var fixed atomic.Bool
	var undelivered atomic.Uint64 // commit LSN of the rows the receiver refused
	rcv := newReceiver(t, receiverOptions{policy: func(_ int, evs []recvEvent) answer {
		if fixed.Load() {
			return answerOK
		}
		undelivered.CompareAndSwap(0, uint64(evs[0].CommitLSN))
		return answer503
	}})
	cfg := webhookConfig(t, cl, rcv.url(), "", "")
	d1 := startDaemon(t, "run", "-c", cfg)
	d1.waitLog("msg=streaming")
	insertRows(t, conn, 1, 5)
	d1.waitLog("webhook request failed, retrying")
	commit := pipeline.LSN(undelivered.Load())

	var oldPid int
	if err := conn.QueryRow(context.Background(), `SELECT active_pid FROM pg_replication_slots
WHERE slot_name = 'pgcdc' AND pg_terminate_backend(active_pid)`).Scan(&oldPid); err != nil {
		t.Fatalf("terminate the walsender: %v", err)
	}
	// The source reconnects and sends a standby status at once: wait for
	// the new walsender to have received one and read what it was told.
	var flushed pipeline.LSN
	deadline := time.Now().Add(30 * time.Second)
	for {
		var lsn string
		err := conn.QueryRow(context.Background(), `SELECT coalesce(flush_lsn::text, '0/0') FROM pg_stat_replication
WHERE pid <> $1 AND reply_time IS NOT NULL`, oldPid).Scan(&lsn)
		if err == nil {
			if flushed, err = pipeline.ParseLSN(lsn); err != nil {
				t.Fatal(err)
			}
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("pgcdc did not reconnect and report a position within 30s")
		}
		time.Sleep(20 * time.Millisecond) // PostgreSQL offers no notification for a standby reply
	}
	d1.kill()
	confirmed := confirmedAfterExit(t, conn)

	fixed.Store(true)
	d2 := startDaemon(t, "run", "-c", cfg)
	d2.waitLog("msg=streaming")
	insertRows(t, conn, 6, 6)
	rcv.waitPK(6, time.Minute)
	d2.stop()
	rcv.checkHeaders()
	if confirmed > commit {
		t.Errorf("after reconnecting, pgcdc reported %s as flushed and the slot confirmed %s, past undelivered rows 1..5 (commit %s)", flushed, confirmed, commit)
	}
	dups := checkOrder(t, rcv.snapshot(), 1, 6)
	t.Logf("reconnect with rows 1..5 undelivered: reported flushed %s, slot confirmed %s ≤ commit %s; after SIGKILL and restart all rows delivered (%d repeats)",
		flushed, confirmed, commit, dups)
}
