package source

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

func TestDecideStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const iv = 10 * time.Second
	base := statusInput{Floor: 100, Sent: 100, SentAt: t0, Now: t0.Add(time.Second), Interval: iv}
	for _, tt := range []struct {
		name     string
		edit     func(*statusInput)
		wantPos  pipeline.LSN
		wantSend bool
	}{
		{"nothing new: quiet until the interval", func(*statusInput) {}, 100, false},
		{"nothing new at the interval: resend", func(in *statusInput) { in.Now = t0.Add(iv) }, 100, true},
		{"first report of the session", func(in *statusInput) { in.SentAt = time.Time{} }, 100, true},
		{"server asked", func(in *statusInput) { in.Reply = true }, 100, true},
		{"confirmed advanced", func(in *statusInput) { in.Confirmed = 150 }, 150, true},
		{"confirmed below the floor", func(in *statusInput) { in.Confirmed = 50 }, 100, false},
		// The WAL end may be confirmed only when nothing is in flight and
		// no transaction is open: confirming past an unfinished
		// transaction loses it.
		{"idle between transactions: WAL end", func(in *statusInput) { in.Idle, in.WALEnd, in.Confirmed = true, 300, 150 }, 300, true},
		{"in flight: not past confirmed", func(in *statusInput) { in.WALEnd, in.Confirmed = 300, 150 }, 150, true},
		{"idle but inside a transaction: not past confirmed", func(in *statusInput) { in.Idle, in.InTxn, in.WALEnd, in.Confirmed = true, true, 300, 150 }, 150, true},
		{"idle, WAL end behind confirmed", func(in *statusInput) { in.Idle, in.WALEnd, in.Confirmed = true, 120, 150 }, 150, true},
		// Never backwards: a position once reported was safe and stays so.
		{"confirmed behind what was sent", func(in *statusInput) { in.Sent, in.Confirmed = 300, 150 }, 300, false},
		{"behind what was sent, at the interval", func(in *statusInput) { in.Sent, in.Confirmed, in.Now = 300, 150, t0.Add(iv) }, 300, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.edit(&in)
			pos, send := decideStatus(in)
			if pos != tt.wantPos || send != tt.wantSend {
				t.Errorf("decideStatus(%+v) = %d, %v; want %d, %v", in, pos, send, tt.wantPos, tt.wantSend)
			}
		})
	}
}

// fakeProgress is a pipeline.Progress the test moves by hand.
type fakeProgress struct {
	confirmed atomic.Uint64
	busy      atomic.Bool
}

func (f *fakeProgress) Confirmed() pipeline.LSN    { return pipeline.LSN(f.confirmed.Load()) }
func (f *fakeProgress) Idle() bool                 { return !f.busy.Load() }
func (f *fakeProgress) Drain(context.Context) bool { return true }
func (f *fakeProgress) set(lsn pipeline.LSN, busy bool) {
	f.confirmed.Store(uint64(lsn))
	f.busy.Store(busy)
}

type sentStatus struct {
	pos pipeline.LSN
	at  time.Duration // since the reporter started
}

// TestReporterTiming runs the reporter under testing/synctest: the first
// status at the first tick, then one per status interval when nothing
// changes, a progress step within one tick, a server request at once, and
// a final report at stop.
func TestReporterTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakeProgress{}
		p.set(0, true)
		src := &Source{cfg: Config{StatusInterval: time.Second}, log: slog.New(slog.DiscardHandler)}
		st := &stream{s: src, p: p, floor: 100, sent: 100, kick: make(chan struct{}, 1)}
		start := time.Now()
		var mu sync.Mutex
		var got []sentStatus
		st.send = func(pos pipeline.LSN, now time.Time) error {
			mu.Lock()
			got = append(got, sentStatus{pos, now.Sub(start)})
			mu.Unlock()
			return nil
		}
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- st.report(stop) }()

		// Steps fall between ticks (every 100 ms from the start).
		time.Sleep(2550 * time.Millisecond) // nothing changes: 0.1 s, 1.1 s, 2.1 s
		p.set(150, true)                    // progress: reported at the next tick (2.6 s)
		time.Sleep(200 * time.Millisecond)
		st.walEnd.Store(400) // a keepalive while busy: not confirmable
		time.Sleep(300 * time.Millisecond)
		p.set(150, false) // now idle: the WAL end (3.1 s)
		time.Sleep(70 * time.Millisecond)
		st.kick <- struct{}{} // the server asks: at once (3.12 s)
		synctest.Wait()
		close(stop) // final (3.12 s)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want := []sentStatus{
			{100, 100 * time.Millisecond}, {100, 1100 * time.Millisecond}, {100, 2100 * time.Millisecond},
			{150, 2600 * time.Millisecond}, {400, 3100 * time.Millisecond},
			{400, 3120 * time.Millisecond}, {400, 3120 * time.Millisecond},
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(want) {
			t.Fatalf("sent %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("status %d: sent %v, want %v (all: %v)", i, got[i], want[i], got)
			}
		}
		if src.ConfirmedLSN() != 400 {
			t.Errorf("ConfirmedLSN() = %s, want 0/190", src.ConfirmedLSN())
		}
	})
}
