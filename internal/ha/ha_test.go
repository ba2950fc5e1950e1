package ha

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/internal/natsembed/natsembedtest"
)

const lease = time.Second

func elector(url string) *Elector {
	return New(Config{Conn: natsconn.Options{URL: url}, Bucket: "ha", Key: "slot", Lease: lease}, nil)
}

// leader runs e.Lead with a fn that reports when it starts and blocks
// until its context ends; it returns channels for both and Lead's result.
func leader(ctx context.Context, e *Elector) (started chan time.Time, lost chan time.Time, result chan error) {
	started, lost, result = make(chan time.Time, 1), make(chan time.Time, 1), make(chan error, 1)
	go func() {
		result <- e.Lead(ctx, func(ctx context.Context) error {
			started <- time.Now()
			<-ctx.Done()
			lost <- time.Now()
			return nil
		})
	}()
	return
}

func recv[T any](t *testing.T, ch chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %s", what, d)
	}
	var zero T
	return zero
}

// TestPausedLeaderGivesUpBeforeStandbyTakesOver: a leader that stops
// renewing (as if SIGSTOPped) gives up on its own before 0.9 x lease, and
// the standby takes over after a whole lease of silence, so that the two
// never lead at once; the takeover comes within about one lease.
func TestPausedLeaderGivesUpBeforeStandbyTakesOver(t *testing.T) {
	srv := natsembedtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := elector(srv.URL()), elector(srv.URL())
	aStarted, aLost, aResult := leader(ctx, a)
	recv(t, aStarted, 10*time.Second, "a leads")
	bStarted, _, _ := leader(ctx, b)
	select {
	case <-bStarted:
		t.Fatal("b leads while a renews")
	case <-time.After(2 * lease):
	}
	if !a.Valid() || b.Valid() {
		t.Fatalf("valid: a %t b %t", a.Valid(), b.Valid())
	}
	pause := time.Now()
	a.paused.Store(true)
	aGaveUp := recv(t, aLost, 3*lease, "a gives up")
	if a.Valid() {
		t.Fatal("a still valid after giving up")
	}
	if err := recv(t, aResult, 5*time.Second, "a's Lead returns"); !errors.Is(err, ErrLost) {
		t.Fatalf("a's Lead = %v, want ErrLost", err)
	}
	bLeads := recv(t, bStarted, 5*lease, "b takes over")
	if !bLeads.After(aGaveUp) {
		t.Fatalf("b led at %v, before a gave up at %v", bLeads, aGaveUp)
	}
	takeover := bLeads.Sub(pause)
	t.Logf("a gave up %v after its pause, b took over %v after it (lease %v)", aGaveUp.Sub(pause), takeover, lease)
	if takeover > 2*lease {
		t.Errorf("takeover took %v, want about one lease (%v)", takeover, lease)
	}
	if !b.Valid() {
		t.Fatal("b not valid")
	}
}

// TestStolenLeaseStopsAtOnce: when the key is written by someone else,
// the leader's next renewal fails and it stops within a renewal period.
func TestStolenLeaseStopsAtOnce(t *testing.T) {
	srv := natsembedtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := elector(srv.URL())
	aStarted, aLost, _ := leader(ctx, a)
	recv(t, aStarted, 10*time.Second, "a leads")
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, "ha")
	if err != nil {
		t.Fatal(err)
	}
	stolen := time.Now()
	if _, err := kv.Put(ctx, "slot", []byte(`{"id":"thief"}`)); err != nil {
		t.Fatal(err)
	}
	gone := recv(t, aLost, 2*lease, "a stops")
	if d := gone.Sub(stolen); d > lease/2 {
		t.Errorf("a stopped %v after the lease was taken, want within a renewal period (%v)", d, lease/3)
	}
	if a.Valid() {
		t.Fatal("a still valid")
	}
}

// TestGracefulHandover: a leader that stops normally releases the lease
// and the standby takes over at once, not after a lease.
func TestGracefulHandover(t *testing.T) {
	srv := natsembedtest.Start(t)
	bg, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	actx, stopA := context.WithCancel(bg)
	a, b := elector(srv.URL()), elector(srv.URL())
	aStarted, _, aResult := leader(actx, a)
	recv(t, aStarted, 10*time.Second, "a leads")
	bStarted, _, _ := leader(bg, b)
	time.Sleep(lease / 2) // b is polling as a standby
	stopped := time.Now()
	stopA()
	if err := recv(t, aResult, 5*time.Second, "a returns"); err != nil {
		t.Fatalf("a's Lead = %v", err)
	}
	took := recv(t, bStarted, 2*lease, "b takes over").Sub(stopped)
	if took > lease/2 {
		t.Errorf("handover took %v, want well under a lease", took)
	}
}
