// Package natsembedtest starts embedded NATS servers for tests: a free
// port, file storage in the test's temporary directory, shut down when
// the test ends.
package natsembedtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgcdc/pgcdc/internal/freeaddr"
	"github.com/pgcdc/pgcdc/internal/natsembed"
)

// Start starts a JetStream server for t.
func Start(t testing.TB) *natsembed.Server {
	t.Helper()
	return StartAt(t, t.TempDir(), "127.0.0.1:-1")
}

// StartAt starts a server on dir and listen (a restarted server reuses
// both: same stream, same URL).
func StartAt(t testing.TB, dir, listen string) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Cluster starts a three-member JetStream cluster and returns its members
// and their data directories; each may be shut down and restarted with
// StartMember.
type Cluster struct {
	Members []*natsembed.Server
	Opts    []natsembed.Options
	t       testing.TB
}

// StartCluster starts n members on free ports. The ports are picked
// before the servers bind them, so another process may take one in
// between (an outgoing connection's local port, on a busy machine): a
// start that fails so is tried again on new ports.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var c *Cluster
		if c, err = startCluster(t, n); err == nil {
			t.Cleanup(func() {
				for _, m := range c.Members {
					m.Shutdown()
				}
			})
			return c
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		t.Logf("cluster start, attempt %d: %v", attempt, err)
	}
	t.Fatal(err)
	return nil
}

func startCluster(t testing.TB, n int) (*Cluster, error) {
	c := &Cluster{t: t}
	addrs := freeAddrs(t, 2*n) // distinct: all held until all are picked
	client, route := addrs[:n], addrs[n:]
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, "nats-route://"+route[j])
			}
		}
		c.Opts = append(c.Opts, natsembed.Options{DataDir: t.TempDir(), Listen: client[i], Name: fmt.Sprintf("n%d", i),
			Cluster: natsembed.Cluster{Name: "pgcdc-test", Listen: route[i], Routes: routes}})
	}
	c.Members = make([]*natsembed.Server, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			s, err := natsembed.Start(c.Opts[i])
			c.Members[i] = s
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		for _, m := range c.Members {
			if m != nil {
				m.Shutdown()
			}
		}
		return nil, first
	}
	return c, nil
}

// URLs is every member's client URL, comma-separated.
func (c *Cluster) URLs() string {
	s := ""
	for i, o := range c.Opts {
		if i > 0 {
			s += ","
		}
		s += "nats://" + o.Listen
	}
	return s
}

// StartMember restarts member i on its own directory and address.
func (c *Cluster) StartMember(i int) {
	c.t.Helper()
	s, err := natsembed.Start(c.Opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	c.Members[i] = s
}

// freeAddrs returns n distinct free loopback addresses.
func freeAddrs(t testing.TB, n int) []string {
	addrs, err := freeaddr.Loopback(n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}
