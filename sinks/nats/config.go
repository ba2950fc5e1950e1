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
	// Duplicates is JetStream's duplicate window (0: the server's, 2m).
	Duplicates time.Duration
}

// DefaultSubject is the subject template the config uses by default.
const DefaultSubject = natsconn.DefaultSubject

