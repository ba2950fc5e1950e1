package pgcluster

import (
	"context"
	"os"
	"testing"
	"time"
)

// ForTest starts a cluster for t and removes it when t ends. It fails the
// test (never skips it) when the server binaries are missing: CI installs
// them.
func ForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if opts.Log == nil && os.Getenv("PGCDC_TEST_PGLOG") != "" {
		opts.Log = os.Stderr
	}
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("start throwaway PostgreSQL: %v", err)
	}
	t.Cleanup(c.Cleanup)
	return c
}
