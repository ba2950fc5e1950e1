// Package ha elects one slot reader among several pgcdc run replicas
// through a lease in a JetStream KV bucket (README, "Scaling out").
//
// # The lease
//
// The lease is one key whose value names its holder. A replica becomes
// the leader by creating the key (Create fails when it exists) or, when
// the holder stopped renewing, by updating it at the revision it last saw
// (Update fails if anyone wrote since: compare-and-swap). The leader
// renews with Update at its last revision every Lease/3. The bucket has
// no TTL: every decision is made by revisions and by local clocks.
//
// # Clocks
//
// No two machines' clocks are ever compared, so clock skew does not
// matter (only the rate of the clocks, which monotonic clocks keep close
// to true). A standby takes over once it has seen the same revision for a
// whole Lease on its own monotonic clock. The leader counts its lease
// from the moment it *sent* its last successful write, which is before
// any standby could have seen that revision, and holds it for at most
// 0.9 x Lease from then: it gives up before any standby can take over,
// even when it does not know it was paused (SIGSTOP, a long GC, a VM
// freeze). A leader whose renewal fails, for whatever reason, gives up at
// once.
//
// # Giving up
//
// Giving up cancels the leader's context with ErrLost, and Valid turns
// false at the same moment: pgcdc run gates every sink acknowledgement on
// Valid, so nothing is confirmed to PostgreSQL after the lease is lost,
// and the process exits non-zero (its supervisor restarts it as a
// standby). A leader that stops normally deletes the key at its revision,
// so a standby takes over at once instead of after a Lease.
//
// The new leader then terminates the walsender that may still hold the
// slot for the old one (TerminateSlotHolder) and starts the slot's
// source; the nats sink's fencing (expected last sequence) keeps a
// zombie's late publishes out of the stream.
package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
)

// ErrLost is the cause of a leader's context when it lost the lease.
var ErrLost = errors.New("lost the ha lease: another replica may be the leader now")

// Config configures the election.
type Config struct {
	Conn natsconn.Options
	// Bucket and Key name the lease (the key is typically the slot's
	// name: one leader per slot).
	Bucket, Key string
	// Lease is how long a silent leader keeps the lease (default 10s).
	Lease time.Duration
	// Replicas of the bucket when it is created (default 1).
	Replicas int
}

// Elector campaigns for the lease.
type Elector struct {
	cfg Config
	log *slog.Logger
	id  string

	validUntil atomic.Int64 // monotonic nanoseconds since start; 0: not leader
	start      time.Time
	// lost is closed when the lease of the current Lead is lost.
	lost     chan struct{}
	lostOnce sync.Once
	// paused makes renew skip its writes, as if the process were stopped
	// (tests).
	paused atomic.Bool
}

// New returns an Elector; it does not connect (Lead does).
func New(cfg Config, log *slog.Logger) *Elector {
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	return &Elector{cfg: cfg, log: log.With("component", "ha", "key", cfg.Key), id: id, start: time.Now()}
}

// Lost is closed when the lease is lost during the current Lead's fn
// (not when fn's context ends for another reason). Call it from fn.
func (e *Elector) Lost() <-chan struct{} { return e.lost }

// ID names this replica in the lease's value.
func (e *Elector) ID() string { return e.id }

// Valid reports whether this replica holds the lease now. It is cheap
// and safe for concurrent use (a sink's ack calls it).
func (e *Elector) Valid() bool {
	until := e.validUntil.Load()
	return until != 0 && e.now() < until
}

func (e *Elector) now() int64 { return int64(time.Since(e.start)) }

type holder struct {
	ID    string    `json:"id"`
	Since time.Time `json:"since"` // for people reading the bucket; never compared
}

// Lead waits until this replica is the leader, then runs fn with a
// context that is cancelled (cause ErrLost) when the lease is lost. It
// returns fn's error, or ErrLost when the lease was lost (fn's error is
// then logged, not returned), or ctx's error when ctx ended while it was
// a standby. When fn returns, the lease is released.
func (e *Elector) Lead(ctx context.Context, fn func(ctx context.Context) error) error {
	conn := e.cfg.Conn
	if conn.Name == "" {
		conn.Name = "pgcdc ha " + e.id
	}
	nc, err := natsconn.Connect(conn, e.log)
	if err != nil {
		return err
	}
	defer nc.Close()
	kv, err := e.bucket(ctx, nc)
	if err != nil {
		return err
	}
	rev, sent, err := e.campaign(ctx, kv)
	if err != nil {
		return err
	}
	e.lost, e.lostOnce = make(chan struct{}), sync.Once{}
	e.hold(sent)
	e.log.Info("became the leader", "id", e.id, "revision", rev)

	leadCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan uint64, 1)
	go func() { renewed <- e.renew(leadCtx, kv, rev, cancel) }()
	err = fn(leadCtx)
	lost := errors.Is(context.Cause(leadCtx), ErrLost)
	cancel(context.Canceled)
	last := <-renewed
	e.validUntil.Store(0)
	if lost {
		if err != nil {
			e.log.Warn("pipeline stopped after the lease was lost", "error", err)
		}
		return ErrLost
	}
	// Hand over at once: delete at our revision (refused if someone else
	// wrote since, which then is the leader already).
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer dcancel()
	if derr := kv.Delete(dctx, e.cfg.Key, jetstream.LastRevision(last)); derr != nil {
		e.log.Warn("could not release the lease; a standby takes over after it expires", "error", derr)
	} else {
		e.log.Info("released the lease")
	}
	return err
}

func (e *Elector) bucket(ctx context.Context, nc *nats.Conn) (jetstream.KeyValue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("ha: jetstream: %w", err)
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		kv, err := js.KeyValue(ctx, e.cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: e.cfg.Bucket, History: 1,
				Storage: jetstream.FileStorage, Replicas: max(1, e.cfg.Replicas)})
			if errors.Is(err, jetstream.ErrBucketExists) {
				continue
			}
		}
		if err == nil {
			return kv, nil
		}
		e.log.Warn("ha: waiting for nats", "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ha: bucket %q: %w", e.cfg.Bucket, err)
		case <-time.After(wait):
		}
	}
}

// hold records a successful write sent at sent (monotonic ns).
func (e *Elector) hold(sent int64) {
	e.validUntil.Store(sent + int64(e.cfg.Lease)*9/10)
}

func (e *Elector) value() []byte {
	b, _ := json.Marshal(holder{ID: e.id, Since: time.Now().UTC()})
	return b
}

// campaign waits until this replica holds the lease, and returns its
// revision and when the winning write was sent.
func (e *Elector) campaign(ctx context.Context, kv jetstream.KeyValue) (rev uint64, sent int64, err error) {
	lease := e.cfg.Lease
	poll := max(lease/10, 50*time.Millisecond)
	var seenRev uint64
	var seenAt int64
	logged := false
	for {
		sent := e.now()
		rctx, cancel := context.WithTimeout(ctx, lease/3)
		entry, err := kv.Get(rctx, e.cfg.Key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
			rev, err = kv.Create(rctx, e.cfg.Key, e.value())
			if err == nil {
				cancel()
				return rev, sent, nil
			}
		case err == nil:
			if entry.Revision() != seenRev {
				seenRev, seenAt = entry.Revision(), e.now()
				if !logged {
					var h holder
					_ = json.Unmarshal(entry.Value(), &h)
					e.log.Info("standby: another replica holds the lease", "leader", h.ID, "lease", lease)
					logged = true
				}
			} else if time.Duration(e.now()-seenAt) >= lease {
				var h holder
				_ = json.Unmarshal(entry.Value(), &h)
				rev, err = kv.Update(rctx, e.cfg.Key, e.value(), seenRev)
				if err == nil {
					cancel()
					e.log.Warn("the leader stopped renewing its lease: taking over", "old_leader", h.ID,
						"silent_for", time.Duration(e.now()-seenAt).Round(time.Millisecond))
					return rev, sent, nil
				}
			}
		}
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrKeyExists) {
			e.log.Debug("ha: campaign", "error", err)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// renew keeps the lease until ctx ends or a renewal fails, and returns
// the last revision it wrote. On failure, and when the lease runs out
// without a renewal (this process was paused), it cancels the leader's
// context with ErrLost.
func (e *Elector) renew(ctx context.Context, kv jetstream.KeyValue, rev uint64, lost context.CancelCauseFunc) uint64 {
	lease := e.cfg.Lease
	tick := time.NewTicker(lease / 3)
	defer tick.Stop()
	expiry := time.NewTimer(time.Duration(e.validUntil.Load() - e.now()))
	defer expiry.Stop()
	give := func(why string, err error) uint64 {
		e.validUntil.Store(0)
		e.log.Error("lost the lease: stopping the source at once", "why", why, "error", err)
		e.lostOnce.Do(func() { close(e.lost) })
		lost(ErrLost)
		return rev
	}
	for {
		select {
		case <-ctx.Done():
			return rev
		case <-expiry.C:
			return give("no renewal within the lease (was this process paused?)", nil)
		case <-tick.C:
		}
		if !e.Valid() {
			return give("no renewal within the lease (was this process paused?)", nil)
		}
		if e.paused.Load() {
			continue
		}
		sent := e.now()
		rctx, cancel := context.WithTimeout(ctx, lease/3)
		next, err := kv.Update(rctx, e.cfg.Key, e.value(), rev)
		cancel()
		if ctx.Err() != nil {
			return rev
		}
		if err != nil {
			return give("renewal failed", err)
		}
		rev = next
		e.hold(sent)
		expiry.Reset(time.Duration(e.validUntil.Load() - e.now()))
	}
}
