package live

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pgcdc/pgcdc/internal/measure"
)

// Result is one run of pgcdc bench live: one protocol, one client
// count.
type Result struct {
	Proto   string
	Clients int
	// Scoped marks a run with server.auth and a forced tenant filter
	// (--tenants): each client receives its tenant's events only.
	Scoped bool
	// IdleKiB is the growth of pgcdc's RSS per connected idle client.
	IdleKiB float64
	// Committed counts the transactions of the run, warmup included;
	// Window those committed in the measured window.
	Committed, Window int64
	// Rate is the achieved commit rate in the window, per second.
	Rate float64
	// WindowDeliveries counts the window's events the clients received
	// (the latency samples); Missing those they had not received when the
	// drain ended. Delivered counts every event the clients received
	// from the end of the warmup to the end of the drain, the work that
	// ServerCPU paid for.
	WindowDeliveries, Missing, Delivered int64
	// Complete counts the clients that received every event of the run
	// exactly once and in commit order; Failed those whose stream ended
	// early or carried something wrong (FirstError says what).
	Complete, Failed int
	FirstError       string
	Latency          latencyStats
	// Measured is the time from the end of the warmup to the end of the
	// drain; ServerCPU, PostgresCPU and ClientCPU the CPU time pgcdc,
	// PostgreSQL and this process (clients and writer) used in it.
	Measured, ServerCPU, PostgresCPU, ClientCPU time.Duration
	// RSSKiB is pgcdc's RSS at the end of the drain, HWMKiB its peak.
	RSSKiB, HWMKiB int64
}

// Label names the run's protocol, "+auth" when scoped.
func (r Result) Label() string {
	if r.Scoped {
		return r.Proto + "+auth"
	}
	return r.Proto
}

// CPUPerMillion returns pgcdc's CPU seconds per million deliveries.
func (r Result) CPUPerMillion() float64 {
	if r.Delivered == 0 {
		return math.NaN()
	}
	return r.ServerCPU.Seconds() / float64(r.Delivered) * 1e6
}

// DeliveryRate returns the deliveries per second from the end of the
// warmup to the end of the drain.
func (r Result) DeliveryRate() float64 {
	if r.Measured <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Measured.Seconds()
}

// run does one measured run with n clients of proto.
func (e *env) run(ctx context.Context, proto string, n, seq int, scoped bool) (res Result, err error) {
	res = Result{Proto: proto, Clients: n, Scoped: scoped}
	if _, err := e.admin.Exec(ctx, `TRUNCATE ticks`); err != nil {
		return res, fmt.Errorf("truncate ticks: %w", err)
	}
	var procs []*child // the processes whose CPU is pgcdc's: the run child, and its edges
	child, err := e.startChild(seq, scoped)
	if err != nil {
		return res, err
	}
	procs = append(procs, child)
	defer func() {
		for _, p := range procs[1:] {
			p.kill()
		}
	}()
	win := &measuredWindow{}
	win.start.Store(math.MaxInt64)
	clients := make([]*client, n*max(1, e.o.Edges))
	res.Clients = len(clients) // with --edges, n per edge
	for i := range clients {
		clients[i] = newClient(win)
		if scoped {
			clients[i].tenant = i % e.o.Tenants
			if clients[i].token, err = tenantToken(clients[i].tenant); err != nil {
				return res, err
			}
		}
	}
	stopLaunch := make(chan struct{})
	stopped := false
	defer func() {
		close(stopLaunch)
		for _, c := range clients {
			c.close()
		}
		if !stopped {
			child.kill()
		}
	}()
	addr, err := child.waitStreaming(ctx, time.Minute)
	if err != nil {
		return res, err
	}
	addrs := []string{addr}
	if e.o.Edges > 0 {
		if addrs, err = e.startEdges(ctx, seq, &procs); err != nil {
			return res, err
		}
	}
	pid := procs[len(procs)-1].pid() // memory: the process serving the last clients
	rss0, _, err := measure.ProcessMemory(pid)
	if err != nil {
		return res, err
	}
	for i, a := range addrs {
		if err := connect(ctx, clients[i*n:(i+1)*n], proto, a, stopLaunch); err != nil {
			return res, err
		}
	}
	rss1, _, err := measure.ProcessMemory(pid)
	if err != nil {
		return res, err
	}
	res.IdleKiB = float64(rss1-rss0) / float64(n)

	// Traffic: warmup, then the measured window.
	t0 := time.Now()
	start := t0.Add(e.o.Warmup).Truncate(time.Microsecond)
	end := start.Add(e.o.Duration)
	win.start.Store(start.UnixMicro())
	wrote := make(chan writerResult, 1)
	go func() { wrote <- e.write(ctx, t0, end) }()
	select {
	case <-time.After(time.Until(start)):
	case <-ctx.Done():
		<-wrote
		return res, ctx.Err()
	}
	got0, wall0, self0 := receivedBy(clients), time.Now(), measure.SelfCPU()
	cpu0, err := procsCPU(procs)
	if err != nil {
		return res, err
	}
	pg0, err := clusterCPU(e.cl.DataDir())
	if err != nil {
		return res, err
	}
	wr := <-wrote
	if wr.err != nil {
		return res, fmt.Errorf("writer: %w", wr.err)
	}
	if err := e.admin.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE pg_xact_commit_timestamp(xmin) >= $1) FROM ticks`,
		start).Scan(&res.Committed, &res.Window); err != nil {
		return res, fmt.Errorf("count ticks: %w", err)
	}
	if err := e.expect(ctx, clients, scoped, start, res.Committed, res.Window); err != nil {
		return res, err
	}
	if res.Committed != wr.committed {
		return res, fmt.Errorf("ticks holds %d rows, the writer committed %d", res.Committed, wr.committed)
	}
	if d := wr.lastDone.Sub(start); d > 0 {
		res.Rate = float64(res.Window) / d.Seconds()
	}
	if err := drain(ctx, clients, e.o.Drain); err != nil {
		return res, err
	}
	cpu1, err := procsCPU(procs)
	if err != nil {
		return res, err
	}
	res.ClientCPU, res.Measured, res.Delivered = measure.SelfCPU()-self0, time.Since(wall0), receivedBy(clients)-got0
	res.ServerCPU = cpu1 - cpu0
	pg1, err := clusterCPU(e.cl.DataDir())
	if err != nil {
		return res, err
	}
	res.PostgresCPU = measure.CPUSince(pg0, pg1)
	if res.RSSKiB, res.HWMKiB, err = measure.ProcessMemory(pid); err != nil {
		return res, err
	}

	// Shut down: the clients go first (pgcdc would otherwise try to send
	// a backlog to clients that fell behind before it exits), then pgcdc,
	// which must exit cleanly.
	for _, c := range clients {
		c.close()
	}
	if err := waitClients(clients, 30*time.Second); err != nil {
		return res, err
	}
	res.tally(clients)
	for _, p := range procs[1:] {
		if err := p.stop(time.Minute); err != nil {
			return res, err
		}
	}
	procs = procs[:1]
	stopped = true
	return res, child.stop(time.Minute)
}

// startChild writes the run's config and starts pgcdc run. Each run has
// its own slot, created at the current WAL position, so no event of an
// earlier run reaches this one.
func (e *env) startChild(seq int, scoped bool) (*child, error) {
	// Buffers large enough that no client is cut off for lag within a run:
	// the bench measures latency, not the overflow policy.
	events := e.o.Rate*int((e.o.Warmup+e.o.Duration).Seconds()+1) + 1000
	buf := max(10000, 2*events)
	auth := ""
	if scoped {
		auth = fmt.Sprintf(`
  auth:
    mode: jwt
    jwt: {secret: %q, audience: pgcdc}
    scope: {tables: [public.ticks], filter: ["tenant_id=eq.{claims.tenant_id}"]}`, benchSecret)
	}
	cfg := fmt.Sprintf(`source: {dsn: %q, slot: bench_live_%d, publication: bench_live, create: true, tables: ["public.ticks"]}
server:
  listen: "127.0.0.1:0"
  limits: {connections: 1000000, connections_per_ip: 1000000}%s
sinks:
%slog: {level: info}
`, e.cl.DSN(""), seq, auth, liveSinks(buf))
	if e.o.Edges > 0 {
		var err error
		if cfg, err = e.writerConfig(seq); err != nil { // edges.go
			return nil, err
		}
	}
	path := filepath.Join(e.dir, fmt.Sprintf("run-%d.yaml", seq))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	var extra []string
	if e.o.CPUProfile != "" {
		extra = []string{"--cpuprofile", e.o.CPUProfile} // each run overwrites it: the last run's stays
	}
	return spawn(e.bin, path, extra...)
}

// liveSinks is the sinks: entries of the process serving the clients,
// with buffers of buf events.
func liveSinks(buf int) string {
	return fmt.Sprintf(`  - {name: sse, type: sse, path: /events, client_buffer: %d, replay: {max_events: %d, max_bytes: %d}}
  - {name: ws, type: websocket, path: /ws, client_buffer: %d, replay: {max_events: %d, max_bytes: %d}}
`, buf, buf, buf*1024, buf, buf, buf*1024)
}

// connect connects every client, at most 64 handshakes at a time, and
// waits until each is connected (SSE: the response head arrived;
// WebSocket: the subscription is confirmed).
func connect(ctx context.Context, clients []*client, proto, addr string, stop <-chan struct{}) error {
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var failed int
	var first error
	var wg sync.WaitGroup
	wg.Add(len(clients))
	ready := func(err error) {
		if err != nil {
			mu.Lock()
			if failed++; first == nil {
				first = err
			}
			mu.Unlock()
		}
		<-sem
		wg.Done()
	}
	go func() {
		for i, c := range clients {
			select {
			case sem <- struct{}{}:
			case <-stop:
				for range clients[i:] {
					wg.Done()
				}
				return
			}
			if proto == "sse" {
				go c.runSSE(addr, ready)
			} else {
				go c.runWS(addr, ready)
			}
		}
	}()
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	timeout := time.Minute + time.Duration(len(clients))*10*time.Millisecond
	select {
	case <-all:
	case <-time.After(timeout):
		return fmt.Errorf("%d %s clients did not all connect within %s", len(clients), proto, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d %s clients failed to connect, the first: %w", failed, len(clients), proto, first)
	}
	return nil
}

// drain waits until every client whose stream is still open has
// received the events it wants, or for at most timeout.
func drain(ctx context.Context, clients []*client, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	next := 0 // clients[:next] caught up or ended
	caughtUp := func(c *client) bool {
		select {
		case <-c.done: // ended early: it will not catch up
			return true
		default:
			return c.received.Load() >= c.want
		}
	}
	for {
		for next < len(clients) && caughtUp(clients[next]) {
			next++
		}
		if next == len(clients) {
			return nil
		}
		select {
		case <-poll.C:
		case <-deadline.C:
			return nil // what is missing is reported
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitClients waits until every client goroutine ended.
func waitClients(clients []*client, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i, c := range clients {
		select {
		case <-c.done:
		case <-deadline.C:
			return fmt.Errorf("%d clients still reading %s after the server stopped", len(clients)-i, timeout)
		}
	}
	return nil
}

// receivedBy returns the events the clients received so far.
func receivedBy(clients []*client) int64 {
	var n int64
	for _, c := range clients {
		n += c.received.Load()
	}
	return n
}

// tally merges the clients' histograms and counts into r. Events of the
// window a client did not receive count as lost (over 10 s).
func (r *Result) tally(clients []*client) {
	var h latencyHist
	for _, c := range clients {
		h.merge(&c.hist)
		r.WindowDeliveries += c.window
		if lost := c.wantWindow - c.window; lost > 0 {
			h.addLost(uint64(lost))
			r.Missing += lost
		}
		if c.err != nil {
			if r.Failed++; r.FirstError == "" {
				r.FirstError = c.err.Error()
			}
		} else if c.received.Load() == c.want {
			r.Complete++
		}
	}
	r.Latency = h.stats()
}

const rowFormat = "%-14s %7s %8s %6s %10s %9s %9s %8s %8s %8s %8s %7s %7s %6s %7s %6s %5s\n"

func printHeader(out io.Writer) {
	fmt.Fprintf(out, rowFormat, "proto", "clients", "idle KiB", "rate/s", "samples", "missing", "complete",
		"p50", "p90", "p99", "max", "deliv/s", "srv CPU", "s/1M", "RSS MiB", "pg CPU", "bench")
}

func printRow(out io.Writer, r Result) {
	l := r.Latency
	maxLatency := "-" // no samples
	if r.WindowDeliveries > 0 {
		maxLatency = fmtLatency(l.Max, false)
	}
	pct := func(d time.Duration) string {
		if r.Measured <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*d.Seconds()/r.Measured.Seconds())
	}
	fmt.Fprintf(out, rowFormat, r.Label(), fmt.Sprint(r.Clients), fmt.Sprintf("%.1f", r.IdleKiB), fmt.Sprintf("%.0f", r.Rate),
		fmt.Sprint(r.WindowDeliveries), fmt.Sprint(r.Missing), fmt.Sprintf("%d/%d", r.Complete, r.Clients),
		fmtLatency(l.P50, l.P50Over), fmtLatency(l.P90, l.P90Over), fmtLatency(l.P99, l.P99Over), maxLatency,
		fmt.Sprintf("%.0f", r.DeliveryRate()), pct(r.ServerCPU), fmt.Sprintf("%.2f", r.CPUPerMillion()), fmt.Sprintf("%.0f", float64(r.RSSKiB)/1024), pct(r.PostgresCPU), pct(r.ClientCPU))
	if r.FirstError != "" {
		fmt.Fprintf(out, "  %d clients failed; the first: %s\n", r.Failed, r.FirstError)
	}
}

// printSummary explains the columns and names, per protocol, the
// largest client count whose p99 stayed under 100 ms with every event
// delivered.
func printSummary(out io.Writer, rs []Result) {
	fmt.Fprintf(out, `
idle KiB: pgcdc RSS growth per connected idle client; rate/s: achieved commits/s; samples and
missing: events committed in the measured window (× clients) received / not received by the end of
the drain; complete: clients that got every event once, in order; p50..max: commit→client latency
of the samples (percentiles are bucket upper bounds, ±6%%; a missing event counts as >10s);
deliv/s: events received per second, all clients, from the end of the warmup to the end of the
drain; srv CPU: pgcdc's CPU time then (100%% = one core); s/1M: its CPU seconds per million of those
deliveries; RSS MiB: pgcdc's at the end; pg CPU: PostgreSQL's CPU time; bench: this process's
(clients and writer). The clients, pgcdc and PostgreSQL share the CPUs.
load average at the end: %s
`, measure.LoadAverage())
	for _, proto := range []string{"sse", "websocket", "sse+auth", "websocket+auth"} {
		best, tried := 0, false
		for _, r := range rs {
			if r.Label() != proto {
				continue
			}
			tried = true
			if !r.Latency.P99Over && r.Latency.P99 < 100*time.Millisecond && r.Missing == 0 && r.Failed == 0 {
				best = max(best, r.Clients)
			}
		}
		switch {
		case !tried:
		case best == 0:
			fmt.Fprintf(out, "%s: p99 was at or over 100 ms at every client count tried\n", proto)
		default:
			fmt.Fprintf(out, "%s: largest client count with p99 under 100 ms: %d\n", proto, best)
		}
	}
}

// benchSecret signs the scoped runs' tokens.
const benchSecret = "pgcdc-bench-live-secret-0123456789abcdef"

// tenantToken mints a token of tenant, valid for a day.
func tenantToken(tenant int) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": fmt.Sprintf("bench-%d", tenant),
		"tenant_id": tenant, "aud": "pgcdc", "exp": time.Now().Add(24 * time.Hour).Unix()}).SignedString([]byte(benchSecret))
}

// expect sets what each client must receive: every event of the run
// (committed, of which window in the measured window), or in a scoped
// run its tenant's.
func (e *env) expect(ctx context.Context, clients []*client, scoped bool, start time.Time, committed, window int64) error {
	type count struct{ all, window int64 }
	counts := map[int]count{}
	if scoped {
		rows, err := e.admin.Query(ctx, `SELECT tenant_id, count(*), count(*) FILTER (WHERE pg_xact_commit_timestamp(xmin) >= $1) FROM ticks GROUP BY 1`, start)
		if err != nil {
			return fmt.Errorf("count ticks by tenant: %w", err)
		}
		for rows.Next() {
			var t int
			var c count
			if err := rows.Scan(&t, &c.all, &c.window); err != nil {
				return fmt.Errorf("count ticks by tenant: %w", err)
			}
			counts[t] = c
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count ticks by tenant: %w", err)
		}
	}
	for _, c := range clients {
		c.want, c.wantWindow = committed, window
		if scoped {
			c.want, c.wantWindow = counts[c.tenant].all, counts[c.tenant].window
		}
	}
	return nil
}
