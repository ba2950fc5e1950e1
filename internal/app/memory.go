package app

import (
	"os"
	"runtime/debug"

	"github.com/pgcdc/pgcdc/config"
)

// Memory settings of `pgcdc run`. What pgcdc holds is bounded by its
// budgets: pipeline.max_inflight_bytes for everything read and not yet
// acknowledged (decoded rows, their JSON, per-sink projected copies), each
// broadcast sink's replay.max_bytes, and each webhook's one request body in
// flight (batch.max_bytes). The Go runtime adds what a garbage-collected
// heap needs on top; left alone, with the GC target pgcdc uses for
// throughput (GOGC=300), that is up to three times the live heap:
// BenchmarkMemoryBudget measured 215 MiB peak RSS for a 64 MiB budget
// (3.4x) with a slow webhook receiver. So run sets a soft memory limit
// (GOMEMLIMIT) from the budgets, which keeps GOGC's throughput while the
// heap is small and collects sooner as it nears the limit.
const (
	gcPercent      = 300      // GOGC unless set: the live heap is small and bounded
	memoryOverhead = 32 << 20 // runtime, code, connection buffers, metrics
	memorySlackPct = 50       // heap growth allowed past the live budgets
)

// memoryLimit returns the soft memory limit for cfg: the budgets plus
// memorySlackPct, plus memoryOverhead.
func memoryLimit(cfg *config.Config) int64 {
	held := cfg.Pipeline.MaxInflightBytes
	for _, s := range cfg.Sinks {
		switch s.Type {
		case config.TypeSSE, config.TypeWebSocket:
			held += s.Replay.MaxBytes
		case config.TypeWebhook:
			held += s.Batch.MaxBytes
		}
	}
	return held + held*memorySlackPct/100 + memoryOverhead
}

// TuneMemory applies GOGC and the memory limit unless the environment
// sets them, and returns the limit in force (math.MaxInt64: none).
func TuneMemory(cfg *config.Config) int64 {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(cfg))
	}
	return debug.SetMemoryLimit(-1)
}
