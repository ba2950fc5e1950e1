package hub

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// BenchmarkFanout1000 publishes b.N events, one per Publish, to 1,000
// readers that each wait on the wake channel and read through their own
// cursor (no network): the hub's cost per delivery.
func BenchmarkFanout1000(b *testing.B) {
	const readers = 1000
	var g hubtest.Gen
	evs := g.Orders(0, 4096)
	h, err := New("bench", testConfig(config.Broadcast{ClientBuffer: 1 << 20, Replay: config.Replay{MaxEvents: 1 << 20}}), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for r := 0; r < readers; r++ {
		c, _, _ := h.Seek("")
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]*pipeline.Event, 0, 128)
			for {
				got, wake, err := h.Next(&c, buf[:0], 32<<10)
				if errors.Is(err, ErrClosed) {
					return
				}
				if len(got) == 0 {
					<-wake
				}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e := *evs[i%len(evs)]
		e.CommitLSN = pipeline.LSN(0x1000000 + i)
		h.Publish([]*pipeline.Event{&e})
	}
	h.Close()
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)*readers/time.Since(start).Seconds(), "deliveries/s")
}
