package config

import "time"

// Config is a whole pipeline.yaml (ARCHITECTURE §9). Field names and YAML
// keys are the user's interface: do not rename them.
type Config struct {
	Source     Source      `yaml:"source"`
	Transforms []Transform `yaml:"transforms"`
	Pipeline   Pipeline    `yaml:"pipeline"`
	Server     Server      `yaml:"server"`
	Sinks      []Sink      `yaml:"sinks"`
	Dashboard  Dashboard   `yaml:"dashboard"`
	Log        Log         `yaml:"log"`
	HA         HA          `yaml:"ha"`   // config/nats.go
	NATS       NATS        `yaml:"nats"` // config/nats.go
}

// Dashboard is the browser page of live changes (docs/dashboard.md),
// served by the HTTP server whenever an sse sink exists. The page is
// static; every data path it uses (the sse sink, /api/changes,
// /api/status) passes the same gate as any client.
type Dashboard struct {
	// Disabled switches the page off.
	Disabled bool `yaml:"disabled"`
	// Path is where the page is served: a path ending in "/" (default
	// "/"); its scripts and styles are served beneath it.
	Path string `yaml:"path"`
	// Sink names the sse sink the page streams from (default: the first
	// sse sink); /api/changes serves the same sink's replay buffer.
	Sink string `yaml:"sink"`
}

// Source configures the PostgreSQL replication source.
type Source struct {
	// Type selects where changes come from (ARCHITECTURE §11):
	// replication (default), triggers, listen or nats.
	Type string `yaml:"type"`
	// DSN is a libpq URL or key=value string. It holds a password: never
	// log it; use RedactDSN.
	DSN         string   `yaml:"dsn"`
	Slot        string   `yaml:"slot"`
	Publication string   `yaml:"publication"`
	Tables      []string `yaml:"tables"`   // globs; what `publication create` publishes
	Create      bool     `yaml:"create"`   // run creates a missing slot/publication
	Snapshot    string   `yaml:"snapshot"` // never | initial
	// SnapshotChunkRows is the most rows a snapshot reads between two
	// watermarks.
	SnapshotChunkRows int `yaml:"snapshot_chunk_rows"`
	// StatusInterval is how often a standby status update is sent even when
	// nothing changed.
	StatusInterval time.Duration `yaml:"status_interval"`
	// Reconnect is the backoff between reconnect attempts after the
	// database goes away; MaxElapsed 0 means retry forever.
	Reconnect Backoff `yaml:"reconnect"`
	// NATS is the stream an edge reads (source.type nats).
	NATS NATSSource `yaml:"nats"`
	// RetainedWALWarn is how much WAL (bytes) the slot may hold back
	// before pgcdc warns.
	RetainedWALWarn int64 `yaml:"retained_wal_warn"`
	// Triggers configures source.type triggers: the outbox that capture
	// triggers fill (pgcdc triggers install).
	Triggers Triggers `yaml:"triggers"`
	// Listen configures source.type listen: existing pg_notify channels.
	Listen Listen `yaml:"listen"`
}

// Triggers configures the trigger source. Its defaults apply only with
// source.type triggers.
type Triggers struct {
	// Schema holds the outbox table (<schema>.outbox), the trigger
	// functions, and names the triggers (<schema>_capture, ...) and the
	// NOTIFY channel (<schema>_outbox).
	Schema string `yaml:"schema"`
	// Wake is how the relay learns of new rows: notify (a statement
	// trigger sends pg_notify, polling is the fallback) or poll (no
	// NOTIFY: it serialises committing transactions server-wide).
	Wake string `yaml:"wake"`
	// PollInterval is how often the relay reads the outbox when no
	// notification woke it.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BacklogWarn logs a warning when the outbox holds this many rows.
	BacklogWarn int64 `yaml:"backlog_warn"`
}

// Listen configures the listen source (at-most-once). Its defaults apply
// only with source.type listen.
type Listen struct {
	// Channels are LISTENed on; each payload is one JSON event.
	Channels []string `yaml:"channels"`
	// Fields name where each part of the event is in the payload: a
	// top-level key, or a dotted path (payload.record).
	Fields ListenFields `yaml:"fields"`
}

// ListenFields maps payload keys to the event.
type ListenFields struct {
	Schema string `yaml:"schema"`  // missing in a payload: "public"
	Table  string `yaml:"table"`   // required in each payload
	Op     string `yaml:"op"`      // insert/update/delete/truncate, any case (TG_OP)
	Row    string `yaml:"row"`     // the new row (row_to_json(NEW))
	OldRow string `yaml:"old_row"` // the old row, when the trigger sends it
}

// Backoff is an exponential backoff schedule with jitter.
type Backoff struct {
	Initial    time.Duration `yaml:"initial"`
	Max        time.Duration `yaml:"max"`
	MaxElapsed time.Duration `yaml:"max_elapsed"`
}

// Transform is one step of the global transform chain: exactly one of
// Filter or Project is set.
type Transform struct {
	Filter  *Filter  `yaml:"filter"`
	Project *Project `yaml:"project"`
}

// Filter keeps the events that match every non-empty criterion.
type Filter struct {
	Tables        []string `yaml:"tables"`         // "schema.table" globs; empty = all
	ExcludeTables []string `yaml:"exclude_tables"` // globs
	Ops           []string `yaml:"ops"`            // insert update delete truncate read
	Where         []string `yaml:"where"`          // row filters, ARCHITECTURE §7, ANDed
}

// Project keeps or drops columns of the matching tables.
type Project struct {
	Tables  []string `yaml:"tables"`  // globs; empty = all
	Include []string `yaml:"include"` // exactly one of Include or Exclude
	Exclude []string `yaml:"exclude"`
}

// Pipeline sizes the queues between source and sinks.
type Pipeline struct {
	// BatchEvents is the most events the source puts in one batch; a larger
	// transaction is split across batches.
	BatchEvents int `yaml:"batch_events"`
	// SinkQueue is each sink's inbox, in batches.
	SinkQueue int `yaml:"sink_queue"`
	// MaxInflightBytes bounds the memory held by unacknowledged events.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// DrainTimeout bounds how long shutdown waits for sinks to finish.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Server is the one HTTP server carrying SSE and WebSocket sinks, /healthz,
// /readyz, /metrics and /api/changes.
type Server struct {
	// Listen is the address; "" switches HTTP off. It defaults to
	// DefaultListen only when an sse or websocket sink needs the server:
	// set it explicitly for /healthz, /readyz and /metrics without one.
	Listen string `yaml:"listen"`
	// AllowedHosts are the Host header values, besides IP addresses and
	// localhost, that the live endpoints answer to ("app.example.com",
	// "app.example.com:8443", or "*" for any): a check against DNS
	// rebinding.
	AllowedHosts []string `yaml:"allowed_hosts"`
	Auth         Auth     `yaml:"auth"`
	// TLS, when its files are set, serves HTTPS (HTTP/2 and HTTP/1.1 by
	// ALPN) instead of HTTP.
	TLS ServerTLS `yaml:"tls"`
	// Limits bound what clients may hold and send.
	Limits Limits `yaml:"limits"`
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// (Authorization: Bearer <token>); a secret: write it as ${ENV}.
	MetricsToken string `yaml:"metrics_token"`
}

// ServerTLS is the server's certificate: PEM files, read again when
// either changes on disk (a renewed certificate is served without a
// restart).
type ServerTLS struct {
	CertFile string `yaml:"cert_file"` // the certificate chain, leaf first
	KeyFile  string `yaml:"key_file"`  // its private key
}

// Limits bound the HTTP server's clients. Each refusal is counted in
// pgcdc_http_limit_hits_total by limit.
type Limits struct {
	// Connections bounds the open connections in total; a connection over
	// it is closed as soon as it is accepted.
	Connections int `yaml:"connections"`
	// ConnectionsPerIP bounds the open connections of one client address.
	ConnectionsPerIP int `yaml:"connections_per_ip"`
	// SubscriptionsPerConnection bounds a WebSocket's subscriptions.
	SubscriptionsPerConnection int `yaml:"subscriptions_per_connection"`
	// ClientMessagesPerSecond bounds the messages a WebSocket client
	// sends (bursts of twice as many); a client over it is closed (1008).
	ClientMessagesPerSecond int `yaml:"client_messages_per_second"`
	// MaxHeaderBytes bounds a request's header (431 beyond it).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ReadHeaderTimeout bounds the time to read a request's header (a
	// slow-loris client is cut after it).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Auth says who may read the live endpoints (docs/security.md).
type Auth struct {
	Mode string `yaml:"mode"` // none | token | jwt
	// Token is one static token (mode token) held to Scope alone.
	Token string `yaml:"token"`
	// Tokens are named static tokens (mode token), each optionally
	// narrowed by a named scope.
	Tokens []StaticToken `yaml:"tokens"`
	// TokensFile holds more static tokens: lines "<token> <scope> [<name>]"
	// ("-" for no named scope), or a YAML list of {name, token, scope}
	// when it ends in .yaml or .yml.
	TokensFile string `yaml:"tokens_file"`
	// Scopes are the named scopes static tokens refer to; a token is held
	// to Scope and to its named scope both.
	Scopes map[string]AuthScope `yaml:"scopes"`
	JWT    JWT                  `yaml:"jwt"`
	// Scope is enforced on every token, before any client filter.
	Scope AuthScope `yaml:"scope"`
	// TicketTTL is how long a ticket from POST /api/ticket is valid (never
	// longer than the token it was minted for).
	TicketTTL time.Duration `yaml:"ticket_ttl"`
}

// StaticToken is one static token of mode token.
type StaticToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"` // a secret: write it as ${ENV}; never logged
	Scope string `yaml:"scope"` // a key of auth.scopes; empty: auth.scope alone
}

// JWT configures bearer-token verification. Exactly one key source:
// Secret, PublicKeyFile, JWKSURL or JWKSFile.
type JWT struct {
	Secret        string `yaml:"secret"`          // HS256/384/512 key, at least 32 bytes
	PublicKeyFile string `yaml:"public_key_file"` // PEM: RSA, ECDSA or Ed25519 public key or certificate
	JWKSURL       string `yaml:"jwks_url"`        // JSON Web Key Set over https
	JWKSFile      string `yaml:"jwks_file"`       // JSON Web Key Set on disk
	Audience      string `yaml:"audience"`
	Issuer        string `yaml:"issuer"`
	// Algorithms is the allowlist; empty: HS256 for a secret, the key's
	// algorithm for a public key, RS256, ES256 and EdDSA for a key set.
	Algorithms []string `yaml:"algorithms"`
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration `yaml:"leeway"`
}

// AuthScope is enforced server-side before any client filter.
type AuthScope struct {
	Tables []string `yaml:"tables"` // globs; empty: every table
	// Filter are row filters (ARCHITECTURE §7), ANDed; a whole value may
	// be a claim, tenant_id=eq.{claims.tenant_id} (mode jwt).
	Filter []string `yaml:"filter"`
	// Columns maps a table glob to the columns readable in its tables,
	// e.g. {"public.users": {exclude: [password_hash]}}.
	Columns map[string]ColumnRule `yaml:"columns"`
	// TablesClaim names a claim listing table globs that narrow Tables
	// for that token (mode jwt); a token without it is refused.
	TablesClaim string `yaml:"tables_claim"`
}

// ColumnRule keeps (include) or drops (exclude) columns: exactly one.
type ColumnRule struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
}

// Sink is one entry of sinks:. Type selects which of the type-specific
// fields apply; Validate rejects fields that do not belong to the type.
type Sink struct {
	Name    string   `yaml:"name"`
	Type    string   `yaml:"type"` // stdout | sse | websocket | webhook
	Filter  *Filter  `yaml:"filter"`
	Project *Project `yaml:"project"`

	Broadcast `yaml:",inline"` // sse, websocket
	Webhook   `yaml:",inline"` // webhook; url and tls also nats
	NATSSink  `yaml:",inline"` // nats (config/nats.go)
}

// Broadcast holds the settings of the sse and websocket sinks.
type Broadcast struct {
	Path string `yaml:"path"` // URL path on server.listen, e.g. /events
	// Replay bounds the buffer that resuming clients are served from.
	Replay Replay `yaml:"replay"`
	// ClientBuffer is each client's queue, in events; a client whose queue
	// overflows is disconnected and may resume from its last id.
	ClientBuffer int `yaml:"client_buffer"`
	// AllowedOrigins lists the Origins allowed for CORS (sse) and for the
	// WebSocket handshake; "*" allows any. Empty: same-origin only.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Heartbeat is the SSE comment / WebSocket ping interval.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// ClientRetry is the SSE retry: hint sent to EventSource clients.
	ClientRetry time.Duration `yaml:"client_retry"`
	// EventNames names SSE events by op (event: insert) instead of leaving
	// the event field out.
	EventNames bool `yaml:"event_names"`
	// MaxMessageBytes is the WebSocket read limit for client messages.
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
}

// Replay bounds a broadcast sink's replay buffer; the first limit reached
// evicts the oldest events.
type Replay struct {
	MaxEvents int           `yaml:"max_events"`
	MaxBytes  int64         `yaml:"max_bytes"`
	MaxAge    time.Duration `yaml:"max_age"`
}

// Webhook holds the settings of the webhook sink.
type Webhook struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"` // may hold secrets: never log values
	Timeout time.Duration     `yaml:"timeout"`
	TLS     TLS               `yaml:"tls"`
	// Secret is the Standard Webhooks signing key, "whsec_<base64>" or raw.
	Secret string `yaml:"secret"`
	// Format is "event" (the plain event, default) or "cloudevents".
	Format     string  `yaml:"format"`
	Batch      Batch   `yaml:"batch"`
	Retry      Backoff `yaml:"retry"`
	DeadLetter string  `yaml:"dead_letter"` // JSON-lines file; empty: a permanent failure stops the pipeline
}

// TLS configures the webhook client.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Batch closes a webhook batch at whichever limit is reached first.
type Batch struct {
	MaxEvents int           `yaml:"max_events"`
	MaxBytes  int64         `yaml:"max_bytes"`
	MaxWait   time.Duration `yaml:"max_wait"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}
