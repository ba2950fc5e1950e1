package sse

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

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

const benchLSN = 0x1000000

// BenchmarkSSEThroughput publishes b.N events as fast as the sink takes
// them to 100 clients over loopback and reports deliveries per second.
func BenchmarkSSEThroughput(b *testing.B) { benchSSE(b, hubtest.BenchClients(100), 0) }

// BenchmarkSSELatency publishes 1,000 events per second (b.N events; run
// with -benchtime=3000x) to 1,000 clients (PGCDC_BENCH_CLIENTS) and
// reports the publish → client-read latency percentiles.
func BenchmarkSSELatency(b *testing.B) { benchSSE(b, hubtest.BenchClients(1000), time.Millisecond) }

func benchSSE(b *testing.B, clients int, every time.Duration) {
	s, srv, f := newSink(b, config.Broadcast{ClientBuffer: 1 << 16, Replay: config.Replay{MaxEvents: 1 << 17}})
	addr := srv.Listener.Addr().String()
	n := b.N
	sent := make([]atomic.Int64, n)
	lat := make([][]int32, clients) // microseconds, per client
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		lat[c] = make([]int32, 0, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReaderSize(conn, 32<<10)
			conn.SetReadDeadline(time.Now().Add(time.Minute)) // once: a deadline per read costs clock reads
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					b.Errorf("client: %v", err)
					return
				}
				id, ok := bytes.CutPrefix(line, []byte("id: "))
				if !ok {
					continue
				}
				lsn, _ := strconv.ParseUint(string(id[:16]), 16, 64)
				i := int(lsn - benchLSN)
				lat[c] = append(lat[c], int32(time.Now().UnixMicro()-sent[i].Load()))
				if i == n-1 {
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
	reportLoad(b, lat, time.Since(start), hubtest.CPUTime()-cpu0)
}

// reportLoad reports deliveries per second, latency percentiles and CPU
// per million deliveries (of the whole process: the clients' reading
// included, so an upper bound for the server).
func reportLoad(b *testing.B, lat [][]int32, elapsed, cpu time.Duration) {
	var all []int32
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(cpu.Seconds()/float64(len(all))*1e6, "cpu-s/Mdeliveries")
}

// BenchmarkIdleConnMemory opens 1,000 idle SSE streams on a plain
// http.Server (httptest adds its own per-connection tracking) and reports
// the Go memory (heap in use plus stacks) each one costs. The client side
// is a bare TCP connection in the same process (no goroutine, no buffer,
// about 0.4 KB), included in the figure.
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
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			conns = append(conns, conn)
		}
		waitClients(b, s, n)
		// Read the response head, so that every stream has written once.
		buf := make([]byte, 512)
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
		after := hubtest.GoMemory()
		b.ReportMetric(float64(after-before)/n, "B/conn")
		for _, c := range conns {
			c.Close()
		}
		waitClients(b, s, 0)
	}
}
