package measure

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// Usage is what a process used: CPU time (user plus system) and its peak
// resident set in KiB (0 where the platform does not report it).
type Usage struct {
	CPU        time.Duration
	PeakRSSKiB int64
}

// Exited returns what the finished process ps used. The CPU time is
// portable; the peak RSS comes from getrusage(2) and is 0 on Windows.
//
// On Linux a child's peak RSS is at least its parent's resident set when
// it was started: exec(2) carries the high-water mark of the memory it
// replaces, and os/exec starts children sharing the parent's memory
// (vfork). A small parent measures its children exactly.
func Exited(ps *os.ProcessState) Usage {
	return Usage{CPU: ps.UserTime() + ps.SystemTime(), PeakRSSKiB: peakRSSKiB(ps)}
}

// SelfCPU returns the user plus system CPU time this process used so far
// (getrusage(2) on Unix, GetProcessTimes on Windows; 0 where neither
// exists).
func SelfCPU() time.Duration { return selfCPU() }

// GoMem is the Go runtime's memory after a collection.
type GoMem struct {
	HeapInuse, HeapAlloc, Stacks uint64
	Goroutines                   int
}

// Total is the heap in use plus the goroutine stacks, in bytes.
func (m GoMem) Total() int64 { return int64(m.HeapInuse + m.Stacks) }

func (m GoMem) String() string {
	return fmt.Sprintf("heap in use %d, heap alloc %d, stacks %d, goroutines %d", m.HeapInuse, m.HeapAlloc, m.Stacks, m.Goroutines)
}

// GoMemory collects garbage a few times (goroutine stacks shrink by half
// at most per collection) and returns the heap and stacks in use.
func GoMemory() GoMem {
	for range 6 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return GoMem{HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc, Stacks: ms.StackInuse, Goroutines: runtime.NumGoroutine()}
}

// CPUSince returns the CPU time the processes of after used since before,
// both from GroupCPU (a process that started in between counts whole, one
// that ended in between is not counted).
func CPUSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range after {
		d += cpu - before[pid]
	}
	return d
}

// WatchPeak samples the peak resident set (VmHWM) of the running process
// pid every interval until the returned function is called, which returns
// the largest sample in KiB (0 where /proc is not available). Unlike
// Exited's getrusage figure it is the child's own: a fresh address space
// after exec(2) starts its high-water mark at zero. What the child adds
// in its last interval before it exits is missed.
func WatchPeak(pid int, interval time.Duration) (stop func() int64) {
	done := make(chan struct{})
	result := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if _, p, err := ProcessMemory(pid); err == nil {
				peak = max(peak, p)
			}
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		return <-result
	}
}
