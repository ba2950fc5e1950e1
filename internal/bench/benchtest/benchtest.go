// Package benchtest builds the pgcdc binary that the benchmarks' tests run
// as a child process.
package benchtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main builds pgcdc into a temporary directory and stores its path in
// *bin, runs the tests, removes the directory and exits. The binary is
// built without the race detector: the tests measure it, and the bench
// code in the test process is what -race checks.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "pgcdc-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "pgcdc")
	build := exec.Command("go", "build", "-o", *bin, "github.com/pgcdc/pgcdc/cmd/pgcdc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build pgcdc:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
