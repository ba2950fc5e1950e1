// Package pgclustertest starts throwaway PostgreSQL clusters for tests. It
// is the only part of pgcluster that imports package testing, so that the
// pgcdc binary (demo, bench) does not link it.
package pgclustertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
)

// Start starts a cluster for t and removes it when t ends. It fails the
// test (never skips it) when the server binaries are missing: CI installs
// them.
func Start(t testing.TB, opts pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if opts.Log == nil && os.Getenv("PGCDC_TEST_PGLOG") != "" {
		opts.Log = os.Stderr
	}
	c, err := pgcluster.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start throwaway PostgreSQL: %v", err)
	}
	t.Cleanup(c.Cleanup)
	return c
}
