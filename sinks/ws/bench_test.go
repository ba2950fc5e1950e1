package ws

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

const benchLSN = 0x1000000

// BenchmarkWSThroughput publishes b.N events as fast as the sink takes
// them to 100 WebSocket clients over loopback.
func BenchmarkWSThroughput(b *testing.B) { benchWS(b, hubtest.BenchClients(100), 0) }

// BenchmarkWSLatency publishes 1,000 events per second (b.N events; run
// with -benchtime=3000x) to 1,000 clients (PGCDC_BENCH_CLIENTS) and
// reports the publish → client-read latency percentiles.
func BenchmarkWSLatency(b *testing.B) { benchWS(b, hubtest.BenchClients(1000), time.Millisecond) }

var idKey = []byte(`"event":{"id":"`)

func benchWS(b *testing.B, clients int, every time.Duration) {
	s, srv, f := newSink(b, config.Broadcast{ClientBuffer: 1 << 16, Replay: config.Replay{MaxEvents: 1 << 17}})
	n := b.N
	sent := make([]atomic.Int64, n)
	lat := make([][]int32, clients)
	var wg sync.WaitGroup
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	for c := 0; c < clients; c++ {
		conn, _, err := d.Dial(wsURL(srv, "?table=orders"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		lat[c] = make([]int32, 0, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.SetReadDeadline(time.Now().Add(time.Minute)) // once: a deadline per read costs clock reads
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					b.Errorf("client: %v", err)
					return
				}
				i := bytes.Index(msg, idKey)
				if i < 0 {
					continue // subscribed
				}
				lsn, _ := strconv.ParseUint(string(msg[i+len(idKey):i+len(idKey)+16]), 16, 64)
				k := int(lsn - benchLSN)
				lat[c] = append(lat[c], int32(time.Now().UnixMicro()-sent[k].Load()))
				if k == n-1 {
					return
				}
			}
		}()
	}
	waitClients(b, s, clients)
	tmpl := hubtest.Order(benchLSN, 0, pipeline.OpInsert, 1, "paid", 100)
	cpu0 := hubtest.CPUTime()
	b.ResetTimer()
	start := time.Now()
	next := start
	for i := 0; i < n; i++ {
		e := tmpl.Clone()
		e.CommitLSN = benchLSN + pipeline.LSN(i)
		e.CommitTime = time.Now()
		e.Encoded()
		sent[i].Store(e.CommitTime.UnixMicro())
		f.Send(e)
		if every > 0 {
			next = next.Add(every)
			time.Sleep(time.Until(next))
		}
	}
	wg.Wait()
	b.StopTimer()
	var all []int32
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1000 }
	b.ReportMetric(float64(len(all))/time.Since(start).Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric((hubtest.CPUTime()-cpu0).Seconds()/float64(len(all))*1e6, "cpu-s/Mdeliveries")
}

// BenchmarkIdleConnMemory opens 1,000 idle WebSocket connections, each
// with one subscription, on a plain http.Server and reports the Go memory
// (heap in use plus stacks) each costs. The client side is a bare TCP
// connection in the same process (about 0.4 KB), included.
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 1000
	s, err := New(testConfig("idle", config.Broadcast{}), hubtest.Catalog(), nil)
	if err != nil {
		b.Fatal(err)
	}
	hubtest.Run(b, context.Background(), s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	b.ResetTimer()
	for range b.N {
		before := hubtest.GoMemory()
		conns := make([]net.Conn, 0, n)
		for i := 0; i < n; i++ {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /?table=orders HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", addr)
			// Read the 101 response and the subscribed message.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			r := bufio.NewReaderSize(conn, 512)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					b.Fatal(err)
				}
				if line == "\r\n" {
					break
				}
			}
			hdr := make([]byte, 2)
			if _, err := r.Read(hdr); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, conn)
		}
		waitClients(b, s, n)
		after := hubtest.GoMemory()
		b.ReportMetric(float64(after-before)/n, "B/conn")
		for _, c := range conns {
			c.Close()
		}
		waitClients(b, s, 0)
	}
}
