package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/measure"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// testSecret is the Standard Webhooks secret of the end-to-end tests: 32
// bytes in the specification's whsec_ form.
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("pgcdc end-to-end webhook secret!"))

// answer is how the receiver replies to one request.
type answer int

const (
	answerOK    answer = iota // record the events, 204
	answer503                 // 503, nothing recorded
	answer400                 // 400, nothing recorded (the events are kept as rejected)
	answerReset               // close the connection without an answer, nothing recorded
	answerLost                // record the events, then close without an answer: the 2xx is lost
)

// recvEvent is what the tests check of one delivered event.
type recvEvent struct {
	ID        string
	CommitLSN pipeline.LSN
	PK        int64 // after.id of an items row
	Run       int   // the receiver's run tag when it was recorded
}

// receiverOptions choose how a receiver answers.
type receiverOptions struct {
	// policy picks the answer to the n-th request (from 1, retries
	// included); nil always answers answerOK. It may block.
	policy func(n int, evs []recvEvent) answer
	// afterRecord, if set, runs once the events of an accepted request
	// are recorded and before the answer is written. It may block.
	afterRecord func(evs []recvEvent)
}

// receiver is a webhook endpoint on 127.0.0.1 backed by a real HTTP server.
// It verifies the Standard Webhooks headers of every request (signed with
// testSecret), records, in arrival order, the events of the requests it
// accepts, and lets the test pick the answer to each request. It can go
// down (connection refused) and come back on the same address.
type receiver struct {
	t   *testing.T
	key webhook.Key
	receiverOptions

	addr string

	mu        sync.Mutex
	srv       *http.Server
	down      bool
	run       int
	attempts  int
	events    []recvEvent // accepted, in arrival order
	distinct  map[int64]bool
	rejected  [][]recvEvent // events of the requests answered 400
	lostReqs  int
	lostEvts  int
	bodyByID  map[string][32]byte
	problems  []string
	wake      chan struct{}
	maxEvents int // largest request seen
}

// newReceiver starts a receiver.
func newReceiver(t *testing.T, opts receiverOptions) *receiver {
	t.Helper()
	key, err := webhook.ParseKey(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, key: key, receiverOptions: opts, run: 1,
		distinct: make(map[int64]bool), bodyByID: make(map[string][32]byte), wake: make(chan struct{}, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.serve(l)
	t.Cleanup(func() {
		r.mu.Lock()
		srv := r.srv
		r.mu.Unlock()
		if srv != nil {
			_ = srv.Close()
		}
	})
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv, r.down = srv, false
	r.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// stop takes the receiver down: the listener closes (new connections are
// refused) and so do open connections. Nothing is recorded from the moment
// stop is called until start.
func (r *receiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv, r.down = nil, true
	r.mu.Unlock()
	_ = srv.Close()
}

// start brings the receiver back on the same address.
func (r *receiver) start() {
	r.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; retry a bind that races its release
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver: listen again on %s: %v", r.addr, err)
	}
	r.serve(l)
}

// setRun tags the events recorded from now on.
func (r *receiver) setRun(run int) {
	r.mu.Lock()
	r.run = run
	r.mu.Unlock()
}

func (r *receiver) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender went away mid-body (a killed pgcdc)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/hooks" {
		r.problem("%s %s, want POST /hooks", req.Method, req.URL.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		r.problem("Content-Type %q, want application/json", ct)
	}
	if err := r.key.Verify(req.Header, body, time.Now(), 5*time.Minute); err != nil {
		r.problem("request %s: %v", req.Header.Get(webhook.HeaderID), err)
	}
	evs, isArray, err := parseBody(body)
	if err != nil {
		r.problem("request %s: %v", req.Header.Get(webhook.HeaderID), err)
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	id := req.Header.Get(webhook.HeaderID)
	want := evs[0].ID
	if isArray {
		want += "-" + evs[len(evs)-1].ID
	}
	if id != want {
		r.problem("webhook-id %q, want %q", id, want)
	}

	r.mu.Lock()
	r.attempts++
	n := r.attempts
	r.maxEvents = max(r.maxEvents, len(evs))
	sum := sha256.Sum256(body)
	if prev, ok := r.bodyByID[id]; ok && prev != sum {
		r.problems = append(r.problems, fmt.Sprintf("webhook-id %s sent again with a different body", id))
	}
	r.bodyByID[id] = sum
	r.mu.Unlock()

	a := answerOK
	if r.policy != nil {
		a = r.policy(n, evs)
	}
	switch a {
	case answer503:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case answer400:
		r.mu.Lock()
		r.rejected = append(r.rejected, evs)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"row is poison"}`)
		return
	case answerReset:
		resetConn(w)
		return
	}
	if !r.record(evs, a == answerLost) {
		resetConn(w) // went down meanwhile
		return
	}
	if r.afterRecord != nil {
		r.afterRecord(evs)
	}
	if a == answerLost {
		resetConn(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// record appends the events of an accepted request, unless the receiver
// is down.
func (r *receiver) record(evs []recvEvent, lost bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return false
	}
	for _, e := range evs {
		e.Run = r.run
		r.events = append(r.events, e)
		r.distinct[e.PK] = true
	}
	if lost {
		r.lostReqs++
		r.lostEvts += len(evs)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

// resetConn closes the connection under the request without an answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return // the server is closing the connection anyway
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST, not FIN
	}
	conn.Close()
}

// parseBody reads the events of a body: one event object, or a JSON array.
func parseBody(body []byte) ([]recvEvent, bool, error) {
	type wire struct {
		ID        string `json:"id"`
		Table     string `json:"table"`
		Op        string `json:"op"`
		CommitLSN string `json:"commit_lsn"`
		After     struct {
			ID string `json:"id"` // int8: a JSON string
		} `json:"after"`
	}
	var ws []wire
	isArray := len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '['
	if isArray {
		if err := json.Unmarshal(body, &ws); err != nil {
			return nil, true, fmt.Errorf("body is not a JSON array of events: %w", err)
		}
	} else {
		ws = make([]wire, 1)
		if err := json.Unmarshal(body, &ws[0]); err != nil {
			return nil, false, fmt.Errorf("body is not an event: %w", err)
		}
	}
	if len(ws) == 0 {
		return nil, isArray, errors.New("empty array")
	}
	evs := make([]recvEvent, len(ws))
	for i, w := range ws {
		if w.Table != "items" || w.Op != "insert" {
			return nil, isArray, fmt.Errorf("event %s is a %s on %s, want an insert on items", w.ID, w.Op, w.Table)
		}
		pk, err := strconv.ParseInt(w.After.ID, 10, 64)
		if err != nil {
			return nil, isArray, fmt.Errorf("event %s: after.id %q: %w", w.ID, w.After.ID, err)
		}
		lsn, err := pipeline.ParseLSN(w.CommitLSN)
		if err != nil {
			return nil, isArray, fmt.Errorf("event %s: %w", w.ID, err)
		}
		evs[i] = recvEvent{ID: w.ID, CommitLSN: lsn, PK: pk}
	}
	return evs, isArray, nil
}

// waitDistinct waits until n distinct rows were accepted.
func (r *receiver) waitDistinct(n int, timeout time.Duration) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("%d distinct rows", n), timeout, func() bool { return len(r.distinct) >= n })
}

// waitPK waits until row pk was accepted.
func (r *receiver) waitPK(pk int64, timeout time.Duration) {
	r.t.Helper()
	r.waitFor(fmt.Sprintf("row %d", pk), timeout, func() bool { return r.distinct[pk] })
}

// waitFor waits, with a deadline, until cond (called with r.mu held)
// holds; it is checked after every accepted request.
func (r *receiver) waitFor(what string, timeout time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok, got := cond(), len(r.distinct)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.wake:
		case <-deadline:
			r.t.Fatalf("receiver: timed out after %s waiting for %s (%d distinct rows so far)", timeout, what, got)
		}
	}
}

// snapshot returns the accepted events so far, in arrival order.
func (r *receiver) snapshot() []recvEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recvEvent(nil), r.events...)
}

// checkHeaders fails the test if any request had a bad signature, a
// webhook-id not matching its events, or a retry with a different body.
func (r *receiver) checkHeaders() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) > 0 {
		r.t.Fatalf("receiver saw %d bad requests, first: %v", len(r.problems), r.problems)
	}
}

// checkOrder verifies that evs (in arrival order) deliver rows from..to
// in commit order with no gap: the sequence of first-seen rows is exactly
// from, from+1, ..., to, their event ids strictly increase, and every
// other event repeats a row seen before. It returns the repeats.
func checkOrder(t *testing.T, evs []recvEvent, from, to int64) (dups int) {
	t.Helper()
	seen := make(map[int64]string, to-from+1)
	next := from
	var lastID string
	for i, e := range evs {
		if id, ok := seen[e.PK]; ok {
			if id != e.ID {
				t.Fatalf("event %d: row %d came again with id %s, first with %s: ids are not stable", i, e.PK, e.ID, id)
			}
			dups++
			continue
		}
		if e.PK != next {
			t.Fatalf("event %d: first delivery of row %d where row %d was due: out of commit order or a gap", i, e.PK, next)
		}
		if e.ID <= lastID {
			t.Fatalf("event %d: id %s after %s: ids not increasing in commit order", i, e.ID, lastID)
		}
		seen[e.PK], lastID = e.ID, e.ID
		next++
	}
	if next != to+1 {
		t.Fatalf("rows %d..%d never delivered (%d events checked)", next, to, len(evs))
	}
	return dups
}

// webhookConfig writes a config streaming every table to one signed
// webhook sink named "hooks"; sink adds indented keys to the sink, top adds
// top-level sections.
func webhookConfig(t *testing.T, cl *pgcluster.Cluster, url, sink, top string) string {
	return writeConfig(t, fmt.Sprintf(`source:
  dsn: %q
  create: true
  tables: ["public.*"]
  status_interval: 1s
  reconnect: {initial: 100ms, max: 1s}
sinks:
  - name: hooks
    type: webhook
    url: %s
    secret: %s
    retry: {initial: 50ms, max: 500ms, max_elapsed: 1m}
%sserver: {listen: "127.0.0.1:0"}
log: {level: info}
%s`, cl.DSN(""), url, testSecret, sink, top))
}

// workloadTxns runs the first txns transactions of workload: rows
// 1..txns*rowsPerTxn, in order.
func workloadTxns(ctx context.Context, cl *pgcluster.Cluster, txns int) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := workload(wctx, cl, func(txn int) {
		if txn == txns {
			cancel()
		}
	})
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return nil
	}
	return err
}

// insertRows inserts rows first..last of items in one transaction.
func insertRows(t *testing.T, conn *pgx.Conn, first, last int64) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), `INSERT INTO items (id, txn, payload)
SELECT g, 0, 'row ' || g FROM generate_series($1::bigint, $2::bigint) g`, first, last); err != nil {
		t.Fatal(err)
	}
}

// slotState reads the pgcdc slot: its confirmed position, whether a
// walsender holds it, and the WAL it retains.
func slotState(t *testing.T, conn *pgx.Conn) (confirmed pipeline.LSN, active bool, retained int64) {
	t.Helper()
	var lsn string
	if err := conn.QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text, active,
(pg_current_wal_lsn() - confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = 'pgcdc'`).Scan(&lsn, &active, &retained); err != nil {
		t.Fatalf("read slot: %v", err)
	}
	confirmed, err := pipeline.ParseLSN(lsn)
	if err != nil {
		t.Fatal(err)
	}
	return confirmed, active, retained
}

// confirmedAfterExit returns the slot's confirmed position once the
// walsender of a killed or exited pgcdc is gone, so that no status update
// still in its socket can move it afterwards.
func confirmedAfterExit(t *testing.T, conn *pgx.Conn) pipeline.LSN {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		confirmed, active, _ := slotState(t, conn)
		if !active {
			return confirmed
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot stayed active 30s after pgcdc exited")
		}
		time.Sleep(20 * time.Millisecond) // PostgreSQL offers no notification for a walsender exit
	}
}

// waitExit waits for the daemon to exit by itself and returns its code.
func waitExit(t *testing.T, d *daemon, timeout time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(timeout):
		t.Fatalf("pgcdc still running after %s; stderr:\n%s", timeout, d.stderr())
	}
	var exit *exec.ExitError
	if errors.As(d.err, &exit) {
		return exit.ExitCode()
	}
	if d.err != nil {
		t.Fatalf("pgcdc: %v", d.err)
	}
	return 0
}

// vmRSS returns the resident set of process pid in KiB.
func vmRSS(pid int) (int64, error) {
	rss, _, err := measure.ProcessMemory(pid)
	return rss, err
}

func checkNoSecret(t *testing.T, where, text string) {
	t.Helper()
	if strings.Contains(text, strings.TrimPrefix(testSecret, "whsec_")) {
		t.Errorf("%s contains the webhook secret", where)
	}
}
