package pgcluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
)

func TestStartRestart(t *testing.T) {
	c := pgclustertest.Start(t, pgcluster.Options{})
	ctx := context.Background()
	out, err := c.Psql(ctx, "", "SHOW wal_level")
	if err != nil || strings.TrimSpace(out) != "logical" {
		t.Fatalf("wal_level = %q, %v; want logical", out, err)
	}
	if err := c.Stop(false); err != nil {
		t.Fatal(err)
	}
	if err := c.Boot(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if out, err := c.Psql(ctx, "", "SELECT 40+2"); err != nil || strings.TrimSpace(out) != "42" {
		t.Fatalf("after restart: %q, %v", out, err)
	}
}
