//go:build !unix

package webhook

import "os"

// tryLock is a no-op where flock is unavailable: do not run Replay while
// pgcdc writes to the same dead-letter file there.
func tryLock(*os.File) (bool, error) { return true, nil }
