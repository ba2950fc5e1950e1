package freeaddr

import (
	"net"
	"testing"
)

// TestLoopback: the addresses are distinct and each can be bound.
func TestLoopback(t *testing.T) {
	addrs, err := Loopback(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s picked twice in %v", a, addrs)
		}
		seen[a] = true
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("bind %s: %v", a, err)
		}
		l.Close()
	}
	p, err := Port()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("Port() = %d, %v", p, err)
	}
}
