package nats

import (
	"context"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/natsembed/natsembedtest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// BenchmarkSink publishes batches of 1024 events to an embedded server
// with file storage and reports events/s.
func BenchmarkSink(b *testing.B) {
	srv := natsembedtest.Start(b)
	cfg := testConfig(srv.URL())
	s, err := New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	const per = 1024
	n := max(1, b.N/per)
	bs := batches(n, per, 0x1000000)
	in := make(chan *pipeline.Batch, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for _, x := range bs {
			in <- x
		}
		close(in)
	}()
	if err := s.Run(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n*per)/time.Since(start).Seconds(), "events/s")
}
