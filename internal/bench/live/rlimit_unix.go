//go:build unix

package live

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises this process's open-file limit to the hard limit
// (children inherit it) and checks that need descriptors fit.
func raiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("--clients needs about %d open files per process, the hard limit (ulimit -Hn) is %d", need, lim.Cur)
	}
	return nil
}
