package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// BenchmarkDeliver measures signed delivery to a local receiver that reads
// and discards each body: b.N events in pipeline batches of 100, one event
// per request and 500 per request. It reports events/s.
//
//	go test -run '^$' -bench Deliver -benchtime 20000x ./sinks/webhook/
func BenchmarkDeliver(b *testing.B) {
	for _, maxEvents := range []int{1, 500} {
		b.Run(fmt.Sprintf("max_events=%d", maxEvents), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			cfg := webhookConfig("bench", srv.URL)
			cfg.MaxEvents = maxEvents
			s, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			pool := makeEvents(1000, 10)
			in := make(chan *pipeline.Batch, 16)
			go func() {
				for i := 0; i < b.N; i += 100 {
					n := min(100, b.N-i)
					off := i % len(pool)
					in <- pipeline.NewBatch(pool[off:off+n], 0, nil)
				}
				close(in)
			}()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if err := s.Run(context.Background(), in); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
