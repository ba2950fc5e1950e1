package pgcluster_test

import (
	"context"
	"net"
	"strconv"
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

// TestBootPortTaken: a port another process holds fails Boot with the
// postmaster's "Address already in use", the words Start retries on.
func TestBootPortTaken(t *testing.T) {
	c := pgclustertest.Start(t, pgcluster.Options{})
	if err := c.Stop(false); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(c.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := c.Boot(context.Background()); err == nil || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("Boot on a taken port: %v", err)
	}
}
