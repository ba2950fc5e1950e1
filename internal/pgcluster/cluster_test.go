package pgcluster

import (
	"context"
	"strings"
	"testing"
)

func TestStartRestart(t *testing.T) {
	c := ForTest(t, Options{})
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
