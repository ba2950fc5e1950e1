//go:build !linux

package measure

import (
	"errors"
	"os"
	"testing"
)

// Without /proc the process readers say so with errors.ErrUnsupported.
func TestProcessUnsupported(t *testing.T) {
	_, err1 := ProcessCPU(os.Getpid())
	_, _, err2 := ProcessMemory(os.Getpid())
	_, err3 := GroupCPU(os.Getpid())
	for _, err := range []error{err1, err2, err3} {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("got %v, want errors.ErrUnsupported", err)
		}
	}
}
