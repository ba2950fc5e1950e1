package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Config is the settings of one Source.
type Config struct {
	Conn   natsconn.Options
	Stream string
	// BatchEvents is the most events in one batch (0: 1024).
	BatchEvents int
	// Durable, when set, is the key the Source stores its position under
	// (letters, digits, '-', '_', '.'); empty: a live Source.
	Durable string
	// Warm is how many messages before the stream's end a live Source
	// starts (0: at the end).
	Warm int
}

// Source reads a pgcdc stream. Prepare must be called before Run.
type Source struct {
	cfg Config
	log *slog.Logger
	cat *Catalog

	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	epoch  string
	pos    jetstream.KeyValue // durable only

	ready     atomic.Bool
	caughtUp  chan struct{}
	closeOnce sync.Once
}

// New returns a Source; it does not connect (Prepare does).
func New(cfg Config, log *slog.Logger) *Source {
	if cfg.BatchEvents <= 0 {
		cfg.BatchEvents = 1024
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := log.With("component", "source", "stream", cfg.Stream)
	if cfg.Durable != "" {
		l = l.With("durable", cfg.Durable)
	}
	return &Source{cfg: cfg, log: l, cat: &Catalog{}, caughtUp: make(chan struct{})}
}

// Catalog returns the slot reader's catalog (filled by Prepare).
func (s *Source) Catalog() pipeline.Catalog { return s.cat }

// Ready reports whether the Source is reading the stream.
func (s *Source) Ready() bool { return s.ready.Load() }

// CaughtUp is closed once every sink acknowledged what the stream held
// when Run started (for a live Source: the replay rings are warm).
func (s *Source) CaughtUp() <-chan struct{} { return s.caughtUp }

// Reader returns a Reader of the stream (after Prepare).
func (s *Source) Reader() *Reader { return NewReader(s.stream, s.cat) }

// Prepare connects, finds the stream and reads the catalog. It waits
// (bounded by ctx) for NATS and for the stream: an edge started beside
// its slot reader (docker compose, a rollout) comes up before the reader's
// sink created the stream, and waits for it instead of exiting, saying
// every 30 s what it waits for (a misspelt source.nats.stream looks the
// same).
func (s *Source) Prepare(ctx context.Context) error {
	conn := s.cfg.Conn
	if conn.Name == "" {
		conn.Name = "pgcdc edge"
	}
	nc, err := natsconn.Connect(conn, s.log)
	if err != nil {
		return err
	}
	s.nc = nc
	if s.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	var warned time.Time
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		s.stream, err = s.js.Stream(ctx, s.cfg.Stream)
		if err == nil {
			break
		}
		missing := errors.Is(err, jetstream.ErrStreamNotFound)
		switch {
		case !missing:
			s.log.Warn("waiting for nats", "error", err)
		case time.Since(warned) >= 30*time.Second:
			warned = time.Now()
			s.log.Warn("waiting for the stream: start the slot reader (pgcdc run with a nats sink and stream.create: true), or check source.nats.stream", "stream", s.cfg.Stream)
		}
		select {
		case <-ctx.Done():
			if missing {
				return fmt.Errorf("stream %q does not exist: start the slot reader (pgcdc run with a nats sink and stream.create: true) first, or check source.nats.stream", s.cfg.Stream)
			}
			return fmt.Errorf("stream %q: %w", s.cfg.Stream, err)
		case <-time.After(wait):
		}
	}
	s.epoch = natsconn.Epoch(s.stream.CachedInfo())
	bucket := natsconn.CatalogBucket(s.cfg.Stream)
	s.cat.bucket = func(ctx context.Context) (jetstream.KeyValue, error) { return s.js.KeyValue(ctx, bucket) }
	if err := s.cat.load(ctx); err != nil {
		return err
	}
	if kv, _ := s.cat.open(ctx); kv == nil {
		s.log.Warn("the stream has no catalog bucket yet: until the writer creates it, column types are guessed from the JSON values", "bucket", bucket)
	}
	if s.cfg.Durable != "" {
		name := natsconn.PositionBucket(s.cfg.Stream)
		s.pos, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, History: 1, Storage: jetstream.FileStorage,
			Replicas: s.stream.CachedInfo().Config.Replicas})
		if err != nil {
			return fmt.Errorf("position bucket %q: %w", name, err)
		}
	}
	return nil
}

// position is what a durable Source stores.
type position struct {
	Seq   uint64 `json:"seq"`
	Epoch string `json:"epoch"`
}

// start returns the first sequence to read and the stream's last.
func (s *Source) start(ctx context.Context) (start, last uint64, err error) {
	info, err := s.stream.Info(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read stream info: %w", err)
	}
	st := info.State
	if natsconn.Epoch(info) != s.epoch {
		return 0, 0, fmt.Errorf("stream %q was deleted and created again since Prepare", s.cfg.Stream)
	}
	if s.cfg.Durable == "" {
		start = st.LastSeq + 1
		if w := uint64(s.cfg.Warm); w > 0 && st.Msgs > 0 {
			start = max(st.FirstSeq, st.LastSeq-min(w, st.LastSeq)+1)
		}
		return start, st.LastSeq, nil
	}
	e, err := s.pos.Get(ctx, s.cfg.Durable)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		s.log.Info("no stored position: starting at the stream's first event", "first_seq", st.FirstSeq)
		return max(1, st.FirstSeq), st.LastSeq, nil
	case err != nil:
		return 0, 0, fmt.Errorf("read position %q: %w", s.cfg.Durable, err)
	}
	var p position
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return 0, 0, fmt.Errorf("position %q does not decode: %w", s.cfg.Durable, err)
	}
	switch {
	case p.Epoch != s.epoch:
		s.log.Warn("the stored position is from another epoch of the stream (it was created again): starting at its first event",
			"stored_epoch", p.Epoch, "epoch", s.epoch)
		return max(1, st.FirstSeq), st.LastSeq, nil
	case p.Seq+1 < st.FirstSeq:
		s.log.Error("the stream dropped events this sink never got (stream limits max_age/max_bytes): they are lost for it",
			"from_seq", p.Seq+1, "to_seq", st.FirstSeq-1)
		return st.FirstSeq, st.LastSeq, nil
	}
	return p.Seq + 1, st.LastSeq, nil
}

func (s *Source) store(ctx context.Context, seq uint64) error {
	if s.pos == nil || seq == 0 {
		return nil
	}
	body, _ := json.Marshal(position{Seq: seq, Epoch: s.epoch})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.pos.Put(ctx, s.cfg.Durable, body)
	return err
}

// Run implements pipeline.Source.
func (s *Source) Run(ctx context.Context, w pipeline.Writer, p pipeline.Progress) error {
	defer s.nc.Close()
	defer s.ready.Store(false)
	startSeq, last, err := s.start(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing was read
		}
		return err
	}
	s.log.Info("reading the stream", "from_seq", startSeq, "last_seq", last)
	cons, err := s.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: startSeq})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("consume stream %q from %d: %w", s.cfg.Stream, startSeq, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * s.cfg.BatchEvents))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("consume stream %q: %w", s.cfg.Stream, err)
	}
	defer it.Stop()

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.progress(bg, p, last, startSeq) }()
	defer func() { stopBG(); wg.Wait() }()

	s.ready.Store(true)
	err = s.read(ctx, it, w)
	if ctx.Err() == nil {
		return err
	}
	p.Drain(context.WithoutCancel(ctx))
	if err := s.store(context.WithoutCancel(ctx), uint64(p.Confirmed())); err != nil {
		s.log.Warn("could not store the position at shutdown: the events after the last stored one will be delivered again", "error", err)
	}
	return nil
}

// read writes the stream's messages as batches until ctx ends or a
// message is not a pgcdc event. A batch holds what has already arrived
// (up to BatchEvents): it never waits for more.
func (s *Source) read(ctx context.Context, it jetstream.MessagesContext, w pipeline.Writer) error {
	msgs := make(chan jetstream.Msg, s.cfg.BatchEvents)
	fetchErr := make(chan error, 1)
	go func() { fetchErr <- s.fetch(ctx, it, msgs) }()
	var evs []*pipeline.Event
	var refreshed time.Time
	for {
		var m jetstream.Msg
		select {
		case m = <-msgs:
		case err := <-fetchErr:
			return err
		case <-ctx.Done():
			return nil
		}
		bytes, last := 0, uint64(0)
		for m != nil {
			meta, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("stream message: %w", err)
			}
			last = meta.Sequence.Stream
			if ep := m.Headers().Get(natsconn.HeaderEpoch); ep != "" && ep != s.epoch {
				return fmt.Errorf("stream %q: message %d is from epoch %q, not %q: the stream was created again; restart the edge", s.cfg.Stream, last, ep, s.epoch)
			}
			e, err := DecodeEvent(m.Data(), s.cat)
			if err == nil && !s.cat.known(e) && time.Since(refreshed) > time.Second {
				// A table or column the catalog does not know yet: the
				// writer stored the new catalog before the event. At most
				// once a second, so that a column the catalog never has
				// costs nothing.
				refreshed = time.Now()
				if s.cat.Refresh(ctx) == nil {
					e, err = DecodeEvent(m.Data(), s.cat)
				}
			}
			if err != nil {
				return fmt.Errorf("stream %q: message %d is not a pgcdc event: %w", s.cfg.Stream, last, err)
			}
			evs = append(evs, e)
			bytes += len(m.Data())
			m = nil
			if len(evs) < s.cfg.BatchEvents {
				select {
				case m = <-msgs:
				default:
				}
			}
		}
		b := pipeline.NewBatch(evs, pipeline.LSN(last), nil)
		b.Bytes = bytes
		if err := w.Write(ctx, b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		evs = nil
	}
}

// fetch passes the iterator's messages to msgs until ctx ends.
func (s *Source) fetch(ctx context.Context, it jetstream.MessagesContext, msgs chan<- jetstream.Msg) error {
	var warned time.Time
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("consume stream %q: %w", s.cfg.Stream, err)
			}
			if time.Since(warned) > 10*time.Second {
				s.log.Warn("reading the stream", "error", err)
				warned = time.Now()
			}
			continue
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

// progress closes CaughtUp once the sinks acknowledged up to last, and
// stores a durable Source's position about once a second.
func (s *Source) progress(ctx context.Context, p pipeline.Progress, last, start uint64) {
	if last < start {
		s.closeOnce.Do(func() { close(s.caughtUp) })
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var stored uint64
	lastStore := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c := uint64(p.Confirmed())
		if c >= last {
			s.closeOnce.Do(func() { close(s.caughtUp) })
		}
		if c > stored && time.Since(lastStore) >= time.Second {
			if err := s.store(ctx, c); err != nil {
				s.log.Warn("could not store the position", "error", err)
			} else {
				stored = c
			}
			lastStore = time.Now()
		}
	}
}
