// Package freeaddr picks loopback TCP addresses that nothing listens on,
// for throwaway servers (PostgreSQL clusters, NATS servers, pgcdc in
// tests). An address is free when it is picked; another process may take
// it before the caller binds it, so callers that must not fail retry a
// start whose address was taken.
package freeaddr

import (
	"fmt"
	"net"
	"strconv"
)

// Loopback returns n distinct free addresses on 127.0.0.1 ("host:port").
// All n listeners are held until every address is picked, so the
// addresses differ from each other.
func Loopback(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// Port returns one free port on 127.0.0.1.
func Port() (int, error) {
	addrs, err := Loopback(1)
	if err != nil {
		return 0, err
	}
	_, port, _ := net.SplitHostPort(addrs[0])
	return strconv.Atoi(port)
}
