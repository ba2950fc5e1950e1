package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/backoff"
	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Sink publishes events to a JetStream stream.
type Sink struct {
	cfg     Config
	subject natsconn.Subject
	log     *slog.Logger
	catalog pipeline.Catalog
	ready   atomic.Bool
	// catalogDirty is set when the source's catalog changed and not yet
	// written to the KV bucket.
	catalogDirty atomic.Bool
}

var (
	_ pipeline.Sink    = (*Sink)(nil)
	_ pipeline.Readier = (*Sink)(nil)
)

// Option configures a Sink.
type Option func(*Sink)

// WithCatalog makes the sink keep the source's catalog in the KV bucket
// natsconn.CatalogBucket(stream) for edges.
func WithCatalog(c pipeline.Catalog) Option { return func(s *Sink) { s.catalog = c } }

// New returns a sink. It checks the subject template and the stream's
// name; it does not connect (Run does, and waits for NATS).
func New(cfg Config, log *slog.Logger, opts ...Option) (*Sink, error) {
	t, err := natsconn.ParseSubject(cfg.Subject)
	if err != nil {
		return nil, err
	}
	if cfg.Stream.Name == "" {
		return nil, errors.New("stream.name is required")
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 4096
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 10 * time.Second
	}
	if cfg.RetryInitial <= 0 {
		cfg.RetryInitial = 100 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryInitial {
		cfg.RetryMax = max(5*time.Second, cfg.RetryInitial)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sink{cfg: cfg, subject: t, log: log.With("component", "sink", "sink", cfg.Name, "stream", cfg.Stream.Name)}
	for _, o := range opts {
		o(s)
	}
	if s.catalog != nil {
		s.catalogDirty.Store(true)
		if w, ok := s.catalog.(pipeline.CatalogWatcher); ok {
			w.Watch(func(pipeline.TableInfo) { s.catalogDirty.Store(true) })
		}
	}
	return s, nil
}

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return s.cfg.Name }

// Ready implements pipeline.Readier: the sink has found the stream's tail
// and its last publish did not fail.
func (s *Sink) Ready() bool { return s.ready.Load() }

// Run implements pipeline.Sink. It connects, finds (or creates) the
// stream, and publishes. It returns an error only for what waiting cannot
// fix: a stream that is missing without stream.create, or messages in it
// that pgcdc did not write.
func (s *Sink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	conn := s.cfg.Conn
	if conn.Name == "" {
		conn.Name = "pgcdc sink " + s.cfg.Name
	}
	nc, err := natsconn.Connect(conn, s.log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4*s.cfg.MaxInflight),
		jetstream.WithPublishAsyncTimeout(s.cfg.AckTimeout))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	w := &writer{s: s, js: js, broken: errNotSynced}
	defer s.ready.Store(false)
	return w.run(ctx, in)
}

var errNotSynced = errors.New("not synced yet")

// errFatal marks errors that retrying cannot fix.
type errFatal struct{ err error }

func (e errFatal) Error() string { return e.err.Error() }
func (e errFatal) Unwrap() error { return e.err }

// flight is a batch taken from the inbox and not yet acknowledged: the
// events of it to publish (those not already in the stream), how many are
// published and how many have their PubAck.
type flight struct {
	b         *pipeline.Batch
	evs       []*pipeline.Event
	futs      []pending
	published int
	acked     int
}

type pending struct {
	fut jetstream.PubAckFuture
	seq uint64 // the sequence the message must get
}

// writer is the state of one Run; only Run's goroutine touches it.
type writer struct {
	s      *Sink
	js     jetstream.JetStream
	stream jetstream.Stream
	kv     jetstream.KeyValue
	epoch  string

	// seq is the sequence the stream ends at once everything published so
	// far is stored: the expected last sequence of the next publish.
	seq uint64
	// lastLSN and lastSeq are the id of the newest event in the stream (or
	// published): events up to it are skipped.
	lastLSN pipeline.LSN
	lastSeq uint32
	hasLast bool

	queue    []*flight
	pubIdx   int // first flight with events not yet published
	inflight int
	closed   bool
	// broken is why the writer must read the stream's tail again before
	// it publishes; nil when it is in sync.
	broken error
}

func (w *writer) run(ctx context.Context, in <-chan *pipeline.Batch) error {
	max := w.s.cfg.MaxInflight
	for {
		if w.broken != nil {
			if err := w.resync(ctx); err != nil {
				return err
			}
			continue
		}
		if err := w.publishMore(ctx); err != nil {
			w.fail(err)
			continue
		}
		w.popDone()
		if w.closed && len(w.queue) == 0 {
			return nil
		}
		var inCh <-chan *pipeline.Batch
		if !w.closed && w.inflight < max && w.pubIdx == len(w.queue) {
			inCh = in
		}
		var okCh <-chan *jetstream.PubAck
		var errCh <-chan error
		var head *flight
		if len(w.queue) > 0 && w.queue[0].acked < w.queue[0].published {
			head = w.queue[0]
			okCh, errCh = head.futs[head.acked].fut.Ok(), head.futs[head.acked].fut.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b, ok := <-inCh:
			if !ok {
				w.closed = true
				continue
			}
			w.take(b)
		case ack := <-okCh:
			p := head.futs[head.acked]
			if ack.Duplicate || ack.Sequence != p.seq {
				w.fail(fmt.Errorf("the stream stored event %s at sequence %d (duplicate %t), expected %d: another writer appended", head.evs[head.acked].ID(), ack.Sequence, ack.Duplicate, p.seq))
				continue
			}
			head.acked++
			w.inflight--
		case err := <-errCh:
			w.fail(fmt.Errorf("publish event %s: %w", head.evs[head.acked].ID(), err))
		}
	}
}

// take queues a batch, leaving out the events already in the stream.
func (w *writer) take(b *pipeline.Batch) {
	w.queue = append(w.queue, &flight{b: b, evs: w.unwritten(b.Events)})
}

// unwritten returns the events of evs with ids above the stream's last.
func (w *writer) unwritten(evs []*pipeline.Event) []*pipeline.Event {
	if !w.hasLast {
		return evs
	}
	for i, e := range evs {
		if w.after(e) {
			return evs[i:]
		}
	}
	return nil
}

func (w *writer) after(e *pipeline.Event) bool {
	return e.CommitLSN > w.lastLSN || e.CommitLSN == w.lastLSN && e.Seq > w.lastSeq
}

// publishMore publishes queued events while fewer than MaxInflight await
// their PubAck.
func (w *writer) publishMore(ctx context.Context) error {
	for w.pubIdx < len(w.queue) && w.inflight < w.s.cfg.MaxInflight {
		f := w.queue[w.pubIdx]
		if f.published == len(f.evs) {
			w.pubIdx++
			continue
		}
		if f.published == 0 && w.s.catalogDirty.Load() && w.kv != nil {
			if err := w.putCatalog(ctx); err != nil {
				return err
			}
		}
		for f.published < len(f.evs) && w.inflight < w.s.cfg.MaxInflight {
			e := f.evs[f.published]
			if !w.after(e) {
				// Ids within a transaction only grow; a batch that goes
				// back means the source re-sent: it is in the stream.
				return errFatal{fmt.Errorf("event %s does not sort after the previous event: the source went back", e.ID())}
			}
			fut, err := w.js.PublishMsgAsync(w.message(e))
			if err != nil {
				return fmt.Errorf("publish event %s: %w", e.ID(), err)
			}
			w.seq++
			f.futs = append(f.futs, pending{fut: fut, seq: w.seq})
			f.published++
			w.inflight++
			w.lastLSN, w.lastSeq, w.hasLast = e.CommitLSN, e.Seq, true
		}
	}
	return nil
}

// message builds the stream message of e. The expected last sequence is
// what fences out a second writer.
func (w *writer) message(e *pipeline.Event) *nats.Msg {
	id := e.ID()
	h := nats.Header{
		jetstream.MsgIDHeader:           {id},
		jetstream.ExpectedLastSeqHeader: {strconv.FormatUint(w.seq, 10)},
		natsconn.HeaderCommitTime:       {e.CommitTime.UTC().Format(time.RFC3339Nano)},
		natsconn.HeaderEpoch:            {w.epoch},
	}
	return &nats.Msg{Subject: w.s.subject.Format(e), Header: h, Data: e.Encoded()}
}

// popDone acknowledges the oldest flights whose every event is stored.
func (w *writer) popDone() {
	n := 0
	for n < len(w.queue) && w.queue[n].acked == len(w.queue[n].evs) {
		w.queue[n].b.Ack()
		w.queue[n] = nil
		n++
	}
	if n > 0 {
		w.queue = w.queue[n:]
		w.pubIdx = max(0, w.pubIdx-n)
	}
}

// fail records why the writer must read the tail again.
func (w *writer) fail(err error) {
	if w.broken == nil {
		w.broken = err
	}
}

// resync finds the stream (creating it when configured) and its tail,
// retrying with backoff while NATS is unreachable, and rebuilds what is
// left to publish: every queued event after the stream's last id. Old
// futures are abandoned: a late PubAck of one only means that event is
// in the stream, which the tail shows.
func (w *writer) resync(ctx context.Context) error {
	s := w.s
	if w.inflight > 0 {
		// Let what is in flight land or fail first, so that the tail read
		// below includes it (fewer rounds of fencing against ourselves).
		t := time.NewTimer(s.cfg.AckTimeout)
		select {
		case <-w.js.PublishAsyncComplete():
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	wait := s.cfg.RetryInitial
	var warned time.Time
	for attempt := 0; ; attempt++ {
		err := w.sync(ctx)
		if err == nil {
			break
		}
		var fatal errFatal
		if errors.As(err, &fatal) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.ready.Store(false)
		if time.Since(warned) > 30*time.Second {
			s.log.Warn("nats unavailable; holding the events and pausing the source (PostgreSQL keeps the WAL)",
				"error", err, "after", w.broken, "unacked_batches", len(w.queue))
			warned = time.Now()
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
	skipped := 0
	for _, f := range w.queue {
		f.evs = w.unwritten(f.b.Events)
		skipped += len(f.b.Events) - len(f.evs)
		f.futs, f.published, f.acked = nil, 0, 0
	}
	w.pubIdx, w.inflight = 0, 0
	if w.broken != errNotSynced {
		s.log.Info("nats stream resynced", "after", w.broken, "last_seq", w.seq, "already_stored", skipped)
	}
	w.broken = nil
	s.ready.Store(true)
	return nil
}

// sync reads the stream's state: its epoch, last sequence and last id.
func (w *writer) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.s.cfg.AckTimeout)
	defer cancel()
	if w.stream == nil {
		st, err := w.ensureStream(ctx)
		if err != nil {
			return err
		}
		w.stream = st
		w.epoch = natsconn.Epoch(st.CachedInfo())
	}
	if w.s.catalog != nil && w.kv == nil {
		if err := w.ensureCatalogBucket(ctx); err != nil {
			return err
		}
	}
	if w.kv != nil && w.s.catalogDirty.Load() {
		// Edges learn the published tables before the first event.
		if err := w.putCatalog(ctx); err != nil {
			return err
		}
	}
	seq, id, err := natsconn.Tail(ctx, w.stream)
	if err != nil {
		return err
	}
	w.seq, w.hasLast = seq, false
	if id != "" {
		lsn, n, err := pipeline.ParseID(id)
		if err != nil {
			return errFatal{fmt.Errorf("stream %q: its last message's %s is not a pgcdc event id: %w; give pgcdc a stream of its own", w.s.cfg.Stream.Name, jetstream.MsgIDHeader, err)}
		}
		w.lastLSN, w.lastSeq, w.hasLast = lsn, n, true
	}
	return nil
}

func (w *writer) ensureStream(ctx context.Context) (jetstream.Stream, error) {
	sc := w.s.cfg.Stream
	st, err := w.js.Stream(ctx, sc.Name)
	if err == nil || !errors.Is(err, jetstream.ErrStreamNotFound) {
		return st, err
	}
	if !sc.Create {
		return nil, errFatal{fmt.Errorf("stream %q does not exist: create it (nats stream add %s --subjects %q) or set stream.create: true", sc.Name, sc.Name, w.s.subject.Filter())}
	}
	epoch := make([]byte, 8)
	_, _ = rand.Read(epoch)
	cfg := jetstream.StreamConfig{
		Name: sc.Name, Subjects: []string{w.s.subject.Filter()},
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld,
		Replicas: max(1, sc.Replicas), MaxAge: sc.MaxAge, MaxBytes: orUnlimited(sc.MaxBytes), MaxMsgs: -1,
		Duplicates: orDefault(sc.Duplicates, DefaultDuplicates), AllowDirect: true,
		Metadata: map[string]string{natsconn.MetadataEpoch: hex.EncodeToString(epoch)},
	}
	st, err = w.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return w.js.Stream(ctx, sc.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %q: %w", sc.Name, err)
	}
	w.s.log.Info("created nats stream", "subjects", cfg.Subjects, "replicas", cfg.Replicas)
	return st, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orUnlimited(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func (w *writer) ensureCatalogBucket(ctx context.Context) error {
	name := natsconn.CatalogBucket(w.s.cfg.Stream.Name)
	kv, err := w.js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = w.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, History: 1, Storage: jetstream.FileStorage,
			Replicas: max(1, w.s.cfg.Stream.Replicas)})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = w.js.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return fmt.Errorf("catalog bucket %q: %w", name, err)
	}
	w.kv = kv
	return nil
}

// putCatalog writes the source's catalog to the KV bucket.
func (w *writer) putCatalog(ctx context.Context) error {
	w.s.catalogDirty.Store(false)
	body, err := json.Marshal(w.s.catalog.Tables())
	if err != nil {
		return errFatal{fmt.Errorf("encode catalog: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, w.s.cfg.AckTimeout)
	defer cancel()
	if _, err := w.kv.Put(ctx, natsconn.CatalogKey, body); err != nil {
		w.s.catalogDirty.Store(true)
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}
