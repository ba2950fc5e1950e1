//go:build windows

package measure

import (
	"os"
	"syscall"
	"time"
)

func selfCPU() time.Duration {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0
	}
	var creation, exit, kernel, user syscall.Filetime
	if syscall.GetProcessTimes(h, &creation, &exit, &kernel, &user) != nil {
		return 0
	}
	// Filetimes count 100 ns; Nanoseconds would subtract the epoch.
	ticks := func(f syscall.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}

// peakRSSKiB is 0: the process state of a Windows child holds its times,
// not its memory.
func peakRSSKiB(*os.ProcessState) int64 { return 0 }
