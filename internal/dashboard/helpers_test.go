package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/freeaddr"
	"github.com/pgcdc/pgcdc/internal/logtest"
	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

// The browser tests run the real pgcdc binary against a real PostgreSQL
// and drive Debian's chromium through the DevTools protocol.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pgcdcBinary builds cmd/pgcdc once per test process.
func pgcdcBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pgcdc-dash-bin-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "pgcdc")
		var out bytes.Buffer
		build := exec.Command("go", "build", "-o", binary, "github.com/pgcdc/pgcdc/cmd/pgcdc")
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			buildErr = fmt.Errorf("build pgcdc: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// testSchema: items, with whole old rows (REPLICA IDENTITY FULL); notes
// with the default replica identity; accounts, whose tenant is in the key
// (pgcdc's scope check wants a forced filter's column there).
const testSchema = `
CREATE TABLE public.items (id serial PRIMARY KEY, tenant_id int NOT NULL, name text NOT NULL, status text NOT NULL DEFAULT 'new', qty int NOT NULL DEFAULT 1);
ALTER TABLE public.items REPLICA IDENTITY FULL;
CREATE TABLE public.notes (id serial PRIMARY KEY, body text NOT NULL);
CREATE TABLE public.accounts (id serial, tenant_id int NOT NULL, name text NOT NULL, PRIMARY KEY (id, tenant_id));
ALTER TABLE public.accounts REPLICA IDENTITY FULL;
`

// env is a PostgreSQL cluster with testSchema and a pgcdc serving it.
type env struct {
	t       testing.TB
	cluster *pgcluster.Cluster
	db      *pgx.Conn
	addr    string // pgcdc's listen address
	base    string // http://addr
	config  string // the config file
	proc    *proc
}

// newEnv starts a cluster and pgcdc with the server block extra (YAML
// lines under server:, indented by four spaces) and the sinks sinks
// (YAML list items, indented by two spaces; empty: one sse sink).
func newEnv(t testing.TB, extra, sinks string) *env {
	t.Helper()
	cl := pgclustertest.Start(t, pgcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cl.Psql(ctx, "", testSchema); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	if sinks == "" {
		sinks = "  - {name: live, type: sse}\n"
	}
	e := &env{t: t, cluster: cl, db: db, config: filepath.Join(t.TempDir(), "pipeline.yaml")}
	// A fixed address, so that a restarted pgcdc has the same one. It is
	// free when picked; another process may take it before pgcdc binds it
	// (an outgoing connection's local port, on a busy machine): then pgcdc
	// says the address is in use, and another one is tried.
	for attempt := 1; ; attempt++ {
		e.addr = freeAddr(t)
		e.base = "http://" + e.addr
		yaml := fmt.Sprintf("source: {dsn: %q, create: true}\nserver:\n  listen: %q\n%ssinks:\n%slog: {level: info}\n", cl.DSN(""), e.addr, extra, sinks)
		if err := os.WriteFile(e.config, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if e.launch() {
			return e
		}
		if attempt == 3 {
			t.Fatalf("pgcdc: three free addresses in a row were taken before it bound them:\n%s", e.proc.logs.String())
		}
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	addrs, err := freeaddr.Loopback(1)
	if err != nil {
		t.Fatal(err)
	}
	return addrs[0]
}

// proc is a running pgcdc.
type proc struct {
	cmd  *exec.Cmd
	logs *logtest.Buffer
	done chan struct{}
	err  error
}

// start runs pgcdc and waits until /readyz answers 200.
func (e *env) start() {
	e.t.Helper()
	if !e.launch() {
		e.t.Fatalf("pgcdc: %s is in use:\n%s", e.addr, e.proc.logs.String())
	}
}

// launch starts pgcdc and waits until it is ready; it reports false when
// pgcdc exited because its address is in use.
func (e *env) launch() bool {
	e.t.Helper()
	p := &proc{logs: &logtest.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(pgcdcBinary(e.t), "run", "-c", e.config)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.Env = append(os.Environ(), "JWT_SECRET="+jwtSecret)
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	e.proc = p
	e.t.Cleanup(func() { e.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(e.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-p.done:
			if strings.Contains(p.logs.String(), "the address is in use") {
				return false
			}
			e.t.Fatalf("pgcdc exited: %v\n%s", p.err, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pgcdc not ready within 60s:\n%s", p.logs.String())
		}
	}
}

// stop ends pgcdc with SIGTERM (drain, confirm) and waits for it.
func (e *env) stop() {
	p := e.proc
	if p == nil {
		return
	}
	e.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		e.t.Errorf("pgcdc did not stop within 60s of SIGTERM:\n%s", p.logs.String())
	}
}

// exec runs SQL against the test database.
func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.db.Exec(ctx, sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// traffic runs sql every interval on a connection of its own until the
// returned stop is called (stop waits for the last statement; calling it
// again is a no-op).
func (e *env) traffic(t testing.TB, interval time.Duration, sql string) (stop func()) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), e.cluster.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			if _, err := conn.Exec(context.Background(), sql); err != nil {
				t.Errorf("traffic: %v", err)
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-done
			conn.Close(context.Background())
		})
	}
}

// ints returns the first column of a query.
func (e *env) ints(sql string) []int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := e.db.Query(ctx, sql)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// browser is one headless chromium for a test function, with a tab.
type browser struct {
	t    testing.TB
	ctx  context.Context
	page *pageErrors
}

// pageErrors are the page's uncaught exceptions and console errors.
type pageErrors struct {
	mu     sync.Mutex
	errors []string
}

// on returns b for a subtest: its failures fail t.
func (b *browser) on(t testing.TB) *browser {
	c := *b
	c.t = t
	return &c
}

// chromium finds the browser, or skips outside CI.
func chromium(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: CI must install it (scripts/deps.sh)")
	}
	t.Skip("chromium not found (scripts/deps.sh installs it)")
	return ""
}

// newBrowser starts chromium with a window of w x h CSS pixels, for the
// rest of the test.
func newBrowser(t testing.TB, w, h int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx, page: &pageErrors{}}
	err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg = d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		b.page.mu.Lock()
		b.page.errors = append(b.page.errors, msg)
		b.page.mu.Unlock()
	})
	if err != nil {
		cancel()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelA()
		b.page.mu.Lock()
		defer b.page.mu.Unlock()
		for _, e := range b.page.errors {
			t.Errorf("page error: %s", e)
		}
	})
	return b
}

// do runs steps with a deadline.
func (b *browser) do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// wait polls the JavaScript expression cond (in the page, on every
// animation frame) until it is true, for at most timeout.
func (b *browser) wait(what, cond string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+time.Second)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+cond+")", chromedp.WithPollingTimeout(timeout)))
	if err != nil || !ok {
		state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify({conn: document.getElementById('conn')?.textContent.trim(), notice: document.getElementById('notice-text')?.textContent, err: document.getElementById('f-filter-error')?.textContent, stats: window.pgcdc?.stats()})`))
		b.t.Fatalf("waiting for %s (%s): %v; page: %s", what, cond, err, state)
	}
}

// eval evaluates expr in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// open loads the page and waits until it says connected.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(30*time.Second, chromedp.Navigate(url))
	b.wait("connected", `document.getElementById('conn').dataset.state === 'connected'`, 20*time.Second)
}

// viewRow is a row of the page's view (window.pgcdc.view()).
type viewRow struct {
	ID    string         `json:"id"`
	Op    string         `json:"op"`
	Table string         `json:"table"`
	Key   map[string]any `json:"key"`
}

// keys returns the "id" key of the view's rows of op on table.
func (b *browser) keys(table, op string) map[int]bool {
	b.t.Helper()
	rows := eval[[]viewRow](b, `window.pgcdc.view()`)
	got := map[int]bool{}
	for _, r := range rows {
		if r.Table == table && r.Op == op {
			if f, ok := r.Key["id"].(float64); ok {
				got[int(f)] = true
			}
		}
	}
	return got
}

// demoProc is a running `pgcdc demo`.
type demoProc struct {
	cmd  *exec.Cmd
	out  *logtest.Buffer
	done chan struct{}
	err  error
}

// startDemo runs `pgcdc demo args...` and waits for its banner.
func startDemo(t *testing.T, args ...string) *demoProc {
	t.Helper()
	d := &demoProc{out: &logtest.Buffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(pgcdcBinary(t), append([]string{"demo"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	deadline := time.After(60 * time.Second)
	for !strings.Contains(d.out.String(), "the dashboard is at") {
		select {
		case <-d.done:
			t.Fatalf("pgcdc demo exited: %v\n%s", d.err, d.out.String())
		case <-deadline:
			t.Fatalf("no banner from pgcdc demo within 60s:\n%s", d.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return d
}

// stop interrupts the demo (Ctrl-C) and waits for a clean exit.
func (d *demoProc) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("pgcdc demo did not exit within 60s of SIGINT:\n%s", d.out.String())
	}
	if d.err != nil {
		t.Errorf("pgcdc demo after SIGINT: %v\n%s", d.err, d.out.String())
	}
}
