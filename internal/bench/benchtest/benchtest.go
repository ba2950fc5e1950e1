// Package benchtest builds the pgcdc binary that the benchmarks' tests run
// as a child process.
package benchtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	bin  string
	err  error
)

// Binary returns pgcdc built for this test process, once, on first use
// (fuzz workers and tests that need no binary build nothing). It is built
// without the race detector: the tests measure it, and the bench code in
// the test process is what -race checks.
func Binary(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		if dir, err = os.MkdirTemp("", "pgcdc-bench-bin-"); err != nil {
			return
		}
		bin = filepath.Join(dir, "pgcdc")
		var out []byte
		if out, err = exec.Command("go", "build", "-o", bin, "github.com/pgcdc/pgcdc/cmd/pgcdc").CombinedOutput(); err != nil {
			err = &buildError{err, out}
		}
	})
	if err != nil {
		tb.Fatalf("build pgcdc: %v", err)
	}
	return bin
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// Main runs the tests, removes what Binary built and exits.
func Main(m *testing.M) {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
