package live

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pgcdc/pgcdc/internal/bench/benchtest"
)

func TestMain(m *testing.M) { benchtest.Main(m) }

// TestRun runs pgcdc bench live's core with a few clients of each
// protocol at a low rate: every client must receive every event of the
// run, once and in commit order, and the report must hold sane figures.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	o := Options{Protos: []string{"sse", "websocket"}, Clients: []int{5}, Rate: 50, Writers: 2,
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Drain: 10 * time.Second, Binary: benchtest.Binary(t)}
	rs, err := Run(ctx, &out, o)
	if err != nil {
		t.Fatalf("bench live: %v\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
	if len(rs) != 2 || rs[0].Proto != "sse" || rs[1].Proto != "websocket" {
		t.Fatalf("results %+v, want one sse and one websocket run", rs)
	}
	for _, r := range rs {
		switch {
		case r.Complete != 5 || r.Failed != 0 || r.Missing != 0:
			t.Errorf("%s: %d of 5 clients complete, %d failed (%s), %d events missing", r.Proto, r.Complete, r.Failed, r.FirstError, r.Missing)
		case r.Window < 50 || r.Committed <= r.Window:
			t.Errorf("%s: %d transactions in the window of %d, want about 100 after a warmup", r.Proto, r.Window, r.Committed)
		case r.WindowDeliveries != 5*r.Window || r.Delivered <= 0 || r.Delivered > 5*r.Committed:
			t.Errorf("%s: %d latency samples and %d deliveries, want 5 × %d", r.Proto, r.WindowDeliveries, r.Delivered, r.Window)
		case r.Rate < 35 || r.Rate > 65:
			t.Errorf("%s: achieved %.1f transactions/s, want about 50", r.Proto, r.Rate)
		case r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99Over || r.Latency.Max > 5*time.Second:
			t.Errorf("%s: latency %+v is not sane", r.Proto, r.Latency)
		case r.Latency.P99 > bucketUpper(bucketOf(r.Latency.Max)):
			t.Errorf("%s: max %s below p99 %s", r.Proto, r.Latency.Max, r.Latency.P99)
		case r.ServerCPU <= 0 || r.PostgresCPU <= 0 || r.RSSKiB <= 0 || r.HWMKiB < r.RSSKiB || r.DeliveryRate() <= 0:
			t.Errorf("%s: server CPU %s, PostgreSQL CPU %s, RSS %d KiB, peak %d KiB, %.0f deliveries/s",
				r.Proto, r.ServerCPU, r.PostgresCPU, r.RSSKiB, r.HWMKiB, r.DeliveryRate())
		}
	}
	for _, want := range []string{"sse ", "websocket ", "5/5", "largest client count with p99 under 100 ms: 5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestLatencyHistQuantiles(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	s := h.stats()
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", s.P50, 50 * time.Millisecond}, {"p90", s.P90, 90 * time.Millisecond}, {"p99", s.P99, 99 * time.Millisecond}} {
		if c.got < c.want || float64(c.got) > float64(c.want)*1.07 {
			t.Errorf("%s = %s, want %s within one bucket above", c.name, c.got, c.want)
		}
	}
	if s.Max != 100*time.Millisecond || s.P99Over {
		t.Errorf("max %s, p99 over %v; want 100ms and not over", s.Max, s.P99Over)
	}
	h.addLost(2) // 2 of 102 lost: p99 is in the overflow bucket
	if s := h.stats(); !s.P99Over || s.P90Over {
		t.Errorf("with 2%% lost events: p90 %s over %v, p99 %s over %v; want only p99 over", s.P90, s.P90Over, s.P99, s.P99Over)
	}
}

// BenchmarkLive runs pgcdc bench live once with the flags in the
// environment variable PGCDC_BENCH_LIVE (default: its defaults, 1000
// clients of each protocol at 1000 changes/s for 20 s) and prints the
// report:
//
//	PGCDC_BENCH_LIVE='--clients 1000,2000,5000,10000' go test -run '^$' -bench BenchmarkLive -benchtime 1x -timeout 1h ./internal/bench/live
func BenchmarkLive(b *testing.B) {
	for b.Loop() {
		cmd := exec.Command(benchtest.Binary(b), append([]string{"bench", "live"}, strings.Fields(os.Getenv("PGCDC_BENCH_LIVE"))...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// Options.Validate names the flag that is wrong.
func TestValidate(t *testing.T) {
	good := Options{Protos: []string{"sse"}, Clients: []int{1}, Rate: 1, Writers: 1, Duration: time.Second, Drain: time.Second}
	if err := good.Validate(); err != nil {
		t.Fatalf("%+v: %v", good, err)
	}
	for _, c := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Rate = 0 }, "--rate is 0"},
		{func(o *Options) { o.Writers = 0 }, "--writers is 0"},
		{func(o *Options) { o.Duration = 0 }, "--duration and --drain must be positive"},
		{func(o *Options) { o.Drain = -time.Second }, "--duration and --drain must be positive"},
		{func(o *Options) { o.Warmup = -time.Second }, "--warmup not negative"},
		{func(o *Options) { o.Clients = nil }, "--clients"},
	} {
		o := good
		c.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", o, err, c.want)
		}
	}
	if _, err := Run(context.Background(), io.Discard, Options{}); err == nil {
		t.Error("Run with zero options: no error")
	}
}

// The flags parse into Options with the documented defaults; --proto and
// --clients reject what they cannot run, naming the flag.
func TestFlags(t *testing.T) {
	parse := func(args ...string) (Options, error) {
		var o Options
		fs := pflag.NewFlagSet("live", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.AddFlags(fs)
		return o, fs.Parse(args)
	}
	o, err := parse()
	if err != nil || len(o.Protos) != 2 || o.Protos[0] != "sse" || o.Protos[1] != "websocket" || len(o.Clients) != 1 || o.Clients[0] != 1000 ||
		o.Rate != 1000 || o.Writers != 4 || o.Duration != 20*time.Second || o.Warmup != 3*time.Second || o.Drain != 30*time.Second {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	if o, err := parse("--proto", "websocket", "--clients", "100, 500,1000"); err != nil || len(o.Protos) != 1 || o.Protos[0] != "websocket" || len(o.Clients) != 3 || o.Clients[1] != 500 {
		t.Errorf("--proto websocket --clients '100, 500,1000': %+v, %v", o, err)
	}
	for _, c := range []struct{ args, want string }{
		{"--proto http", `invalid argument "http" for "--proto" flag: want sse, websocket or both`},
		{"--clients 1000,x", `invalid argument "1000,x" for "--clients" flag: "x" is not a positive number`},
		{"--clients 0", `"0" is not a positive number`},
		{"--clients -5", `"-5" is not a positive number`},
	} {
		if _, err := parse(strings.Fields(c.args)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

// TestRunTenants: with --tenants each run is followed by a scoped one
// whose clients receive exactly their tenant's events.
func TestRunTenants(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	o := Options{Protos: []string{"sse", "websocket"}, Clients: []int{6}, Rate: 60, Writers: 2, Tenants: 3,
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Drain: 10 * time.Second, Binary: benchtest.Binary(t)}
	rs, err := Run(ctx, &out, o)
	if err != nil {
		t.Fatalf("bench live: %v\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
	if len(rs) != 4 || rs[0].Scoped || !rs[1].Scoped || rs[1].Label() != "sse+auth" || rs[3].Label() != "websocket+auth" {
		t.Fatalf("results %+v, want sse, sse+auth, websocket, websocket+auth", rs)
	}
	for _, r := range rs {
		per := int64(6)
		if r.Scoped {
			per = 2 // each event goes to the 2 clients of its tenant
		}
		if r.Complete != 6 || r.Failed != 0 || r.Missing != 0 || r.WindowDeliveries != per*r.Window {
			t.Errorf("%s: %d of 6 complete, %d failed (%s), %d missing, %d samples for %d events in the window",
				r.Label(), r.Complete, r.Failed, r.FirstError, r.Missing, r.WindowDeliveries, r.Window)
		}
	}
}
