package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchLive runs pgcdc bench live's core with a few clients of each
// protocol at a low rate: every client must receive every event of the
// run, once and in commit order, and the report must hold sane figures.
func TestBenchLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	o := liveOptions{protos: []string{"sse", "websocket"}, clients: []int{5}, rate: 50, writers: 2,
		duration: 2 * time.Second, warmup: 500 * time.Millisecond, drain: 10 * time.Second, binary: binary}
	rs, err := runBenchLive(ctx, &out, o)
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

func TestParseMicrosUTC(t *testing.T) {
	for _, s := range []string{"2026-11-23T10:00:00.123456Z", "1970-01-01T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z",
		"1999-12-31T23:59:59.000001Z", "2100-03-01T00:00:00.500000Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseMicrosUTC([]byte(s))
		if !ok || got != want.UnixMicro() {
			t.Errorf("parseMicrosUTC(%s) = %d %v, want %d", s, got, ok, want.UnixMicro())
		}
	}
	for _, s := range []string{"2026-11-23T10:00:00.123456+01:00", "2026-11-23T10:00:00Z", "2026-13-23T10:00:00.123456Z", "2026-11-23T10:00:0x.123456Z"} {
		if _, ok := parseMicrosUTC([]byte(s)); ok {
			t.Errorf("parseMicrosUTC(%s) accepted a layout it does not handle", s)
		}
	}
	us, err := commitTimeOf([]byte(`{"id":"x","commit_time":"2026-11-23T10:00:00.5+01:00","key":{}}`))
	if want := time.Date(2026, 11, 23, 9, 0, 0, 5e8, time.UTC).UnixMicro(); err != nil || us != want {
		t.Errorf("commitTimeOf fallback = %d, %v; want %d", us, err, want)
	}
	if _, err := commitTimeOf([]byte(`{"id":"x"}`)); err == nil || !strings.Contains(err.Error(), "commit_time") {
		t.Errorf("commitTimeOf without the field: %v, want an error naming commit_time", err)
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
// clients of each protocol at 1000 changes/s for 20 s) against a pgcdc
// built without -race, and prints the report:
//
//	PGCDC_BENCH_LIVE='--clients 1000,2000,5000,10000' go test -run '^$' -bench BenchmarkLive -benchtime 1x -timeout 1h ./cmd/pgcdc
func BenchmarkLive(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "pgcdc")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("build pgcdc: %v", err)
	}
	for b.Loop() {
		cmd := newBenchLiveCmd()
		cmd.SetArgs(append([]string{"--binary", bin}, strings.Fields(os.Getenv("PGCDC_BENCH_LIVE"))...)) // a --binary there wins
		cmd.SetOut(os.Stdout)
		cmd.SilenceUsage = true
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchLiveFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--proto", "http"}, `--proto is "http"`},
		{[]string{"--clients", "1000,x"}, `--clients: "x" is not a positive number`},
		{[]string{"--clients", "0"}, `--clients: "0"`},
		{[]string{"--rate", "0"}, "--rate is 0"},
		{[]string{"--writers", "0"}, "--writers is 0"},
		{[]string{"--duration", "0s"}, "--duration and --drain must be positive"},
	} {
		cmd := newBenchLiveCmd()
		cmd.SetArgs(c.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		var ce *codedError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &ce) || ce.code != exitUsage {
			t.Errorf("bench live %v: %v, want a usage error containing %q", c.args, err, c.want)
		}
	}
}
