package hubtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/internal/measure"
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
func CPUTime() time.Duration { return measure.SelfCPU() }

// GoMemory is the heap in use plus goroutine stacks after a few GCs
// (stacks shrink by half per GC at most).
func GoMemory() int64 {
	m := measure.GoMemory()
	if os.Getenv("PGCDC_BENCH_DEBUG") != "" {
		fmt.Println(m)
	}
	return m.Total()
}
