//go:build !linux

package measure

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// errNoProc says why the figures about other processes are missing.
var errNoProc = fmt.Errorf("reading other processes' CPU time and memory needs Linux's /proc, not %s: %w", runtime.GOOS, errors.ErrUnsupported)

// ProcessCPU needs /proc: it returns an error wrapping errors.ErrUnsupported.
func ProcessCPU(pid int) (time.Duration, error) { return 0, errNoProc }

// ProcessMemory needs /proc: it returns an error wrapping errors.ErrUnsupported.
func ProcessMemory(pid int) (rssKiB, peakKiB int64, err error) { return 0, 0, errNoProc }

// GroupCPU needs /proc: it returns an error wrapping errors.ErrUnsupported.
func GroupCPU(parent int) (map[int]time.Duration, error) { return nil, errNoProc }

// LoadAverage returns "?": there is no /proc/loadavg.
func LoadAverage() string { return "?" }
