package hubtest

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// BigOrder is an encoded insert whose note column is size bytes, for tests
// that need to fill buffers.
func BigOrder(lsn pipeline.LSN, id, size int) *pipeline.Event {
	e := Order(lsn, 0, pipeline.OpInsert, id, strings.Repeat("x", size), id).Clone()
	e.Encoded()
	return e
}

// BenchClients is PGCDC_BENCH_CLIENTS, or def.
func BenchClients(def int) int {
	if n, err := strconv.Atoi(os.Getenv("PGCDC_BENCH_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// CPUTime is the process's user plus system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// GoMemory is the heap in use plus goroutine stacks after a few GCs
// (stacks shrink by half per GC at most).
func GoMemory() int64 {
	for range 6 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if os.Getenv("PGCDC_BENCH_DEBUG") != "" {
		fmt.Printf("heap in use %d, heap alloc %d, stacks %d, goroutines %d\n", ms.HeapInuse, ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine())
	}
	return int64(ms.HeapInuse + ms.StackInuse)
}
