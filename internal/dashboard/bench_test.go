package dashboard_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

var (
	loadRate     = flag.Int("load-rate", 1000, "BenchmarkDashboard: changes per second")
	loadDuration = flag.Duration("load-duration", 60*time.Second, "BenchmarkDashboard: how long")
)

// window is one measurement window of BenchmarkDashboard.
type window struct {
	LagSamples int     `json:"lagSamples"`
	LagP50     float64 `json:"lagP50"`
	LagP99     float64 `json:"lagP99"`
	LagMax     float64 `json:"lagMax"`
	LongTasks  int     `json:"longTasks"`
	LongTaskMs float64 `json:"longTaskMs"`
	Rows       int     `json:"rows"`
	Frames     int     `json:"frames"`
	FrameMs    float64 `json:"frameMs"`
	EventMs    float64 `json:"eventMs"`
}

// BenchmarkDashboard streams -load-rate changes a second (10 rows per
// transaction) for -load-duration into an open dashboard, and reports per
// 10 s window the lag from commit to the row on screen (p50, p99, max),
// the main thread's long tasks (over 50 ms) and the JS heap after a
// garbage collection, read through the DevTools protocol. It runs once,
// whatever b.N:
//
//	go test -run '^$' -bench BenchmarkDashboard -benchtime 1x ./internal/dashboard
func BenchmarkDashboard(b *testing.B) {
	for range b.N {
		runLoad(b)
	}
}

func runLoad(b *testing.B) {
	e := newEnv(b, "", "")
	br := newBrowser(b, 1280, 800)
	br.open(e.base + "/")
	conn, err := pgx.Connect(context.Background(), e.cluster.DSN(""))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())

	const perTxn = 10
	start := time.Now()
	sent := 0
	var windows []window
	var heaps []float64
	next := start.Add(10 * time.Second)
	tick := time.NewTicker(perTxn * time.Second / time.Duration(*loadRate))
	defer tick.Stop()
	_, _ = chromedp.Run(br.ctx, chromedp.Evaluate[chromedp.Void](`window.pgcdc.resetStats()`))
	for time.Since(start) < *loadDuration {
		<-tick.C
		// Catch up with the schedule when the writer fell behind.
		due := int(time.Since(start).Seconds() * float64(*loadRate))
		for sent < due {
			if _, err := conn.Exec(context.Background(), `INSERT INTO items (tenant_id, name) SELECT 1, 'load' FROM generate_series(1, $1)`, perTxn); err != nil {
				b.Fatal(err)
			}
			sent += perTxn
		}
		if time.Now().After(next) {
			next = next.Add(10 * time.Second)
			w, err := chromedp.Run(br.ctx, chromedp.Evaluate[window](`(() => { const s = window.pgcdc.stats(); window.pgcdc.resetStats(); return s; })()`))
			if err != nil {
				b.Fatal(err)
			}
			windows = append(windows, w)
			heaps = append(heaps, heap(b, br.ctx))
		}
	}
	elapsed := time.Since(start)
	var worst window
	for i, w := range windows {
		b.Logf("window %d: %d rows shown, lag p50 %.0f ms p99 %.0f ms max %.0f ms; %d long tasks (%.0f ms); %d frames (%.0f ms), events %.0f ms; JS heap %.1f MiB; %d rows in view",
			i+1, w.LagSamples, w.LagP50, w.LagP99, w.LagMax, w.LongTasks, w.LongTaskMs, w.Frames, w.FrameMs, w.EventMs, heaps[i]/(1<<20), w.Rows)
		worst.LagP99 = max(worst.LagP99, w.LagP99)
		worst.LagMax = max(worst.LagMax, w.LagMax)
		worst.LongTasks += w.LongTasks
		worst.LongTaskMs += w.LongTaskMs
	}
	b.Logf("%d changes in %v (%.0f/s)", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	if len(windows) > 0 {
		b.ReportMetric(worst.LagP99, "worst-window-lag-p99-ms")
		b.ReportMetric(worst.LagMax, "lag-max-ms")
		b.ReportMetric(float64(worst.LongTasks), "long-tasks")
		b.ReportMetric(worst.LongTaskMs/elapsed.Seconds()/10, "long-task-%")
		b.ReportMetric(heaps[len(heaps)-1]/(1<<20), "heap-MiB-end")
		b.ReportMetric(heaps[0]/(1<<20), "heap-MiB-10s")
	}
}

// heap returns the page's JS heap in bytes after a garbage collection.
func heap(b *testing.B, ctx context.Context) float64 {
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		b.Fatal(err)
	}
	h, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		b.Fatal(fmt.Errorf("heap usage: %w", err))
	}
	return h.UsedSize
}
