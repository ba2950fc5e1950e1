package nats

import (
	"time"

	"github.com/pgcdc/pgcdc/internal/natsconn"
)

// Config is the complete settings of one nats sink, built by
// internal/wiring from the validated config (tests fill one in). Zero
// values are not replaced by defaults, except where a field says so.
type Config struct {
	Name string
	Conn natsconn.Options
	// Subject is the subject template: literal tokens and whole-token
	// placeholders {schema}, {table} and {op}, e.g.
	// "pgcdc.{schema}.{table}.{op}".
	Subject string
	Stream  Stream
	// MaxInflight bounds the publishes awaiting their PubAck (0: 4096).
	MaxInflight int
	// AckTimeout bounds the wait for one PubAck before the writer reads
	// the stream's tail again (0: 10s).
	AckTimeout time.Duration
	// RetryInitial and RetryMax bound the backoff while NATS is
	// unreachable (0: 100ms and 5s).
	RetryInitial, RetryMax time.Duration
}

// Stream names the stream and, with Create, how to create it when it is
// missing. An existing stream is used as it is.
type Stream struct {
	Name     string
	Create   bool
	Replicas int           // 0: 1
	MaxAge   time.Duration // 0: unlimited
	MaxBytes int64         // 0: unlimited
	// Duplicates is JetStream's duplicate window (0: DefaultDuplicates).
	Duplicates time.Duration
}

// DefaultDuplicates is the duplicate window of a stream the sink creates.
// JetStream keeps every message id of the window in memory (at 100,000
// events/s its default 2m is 12 million ids); the writer does not need a
// long one, since it skips what the stream's tail shows is stored.
const DefaultDuplicates = 10 * time.Second

// DefaultSubject is the subject template the config uses by default.
const DefaultSubject = natsconn.DefaultSubject
