//go:build linux

package measure

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// ProcessCPU returns the user plus system CPU time of process pid so far
// (/proc/<pid>/stat, in clock ticks of 10 ms).
func ProcessCPU(pid int) (time.Duration, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("process %d's CPU time: %w", pid, err)
	}
	return ticks(st), nil
}

func ticks(st procfs.ProcStat) time.Duration {
	return time.Duration(st.CPUTime() * float64(time.Second))
}

// ProcessMemory returns the resident set of process pid and its peak
// (VmRSS and VmHWM of /proc/<pid>/status), in KiB.
func ProcessMemory(pid int) (rssKiB, peakKiB int64, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	st, err := p.NewStatus()
	if err != nil {
		return 0, 0, fmt.Errorf("process %d's memory: %w", pid, err)
	}
	if st.VmRSS == 0 {
		return 0, 0, fmt.Errorf("process %d's memory: no VmRSS in /proc/%d/status", pid, pid)
	}
	return int64(st.VmRSS / 1024), int64(st.VmHWM / 1024), nil
}

// GroupCPU returns the CPU time of process parent and of each of its
// direct children, by pid. A process that goes away while it looks is
// left out.
func GroupCPU(parent int) (map[int]time.Duration, error) {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make(map[int]time.Duration)
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil || (p.PID != parent && st.PPID != parent) {
			continue
		}
		out[p.PID] = ticks(st)
	}
	if _, ok := out[parent]; !ok {
		return nil, fmt.Errorf("process %d: not running", parent)
	}
	return out, nil
}

// LoadAverage returns the 1, 5 and 15 minute load averages, as uptime(1)
// prints them, or "?".
func LoadAverage() string {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return "?"
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
}
