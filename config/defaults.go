package config

import "time"

// Sink types.
const (
	TypeStdout    = "stdout"
	TypeSSE       = "sse"
	TypeWebSocket = "websocket"
	TypeWebhook   = "webhook"
)

// Enumerated values of other keys.
const (
	SnapshotNever   = "never"
	SnapshotInitial = "initial"

	AuthNone  = "none"
	AuthToken = "token"
	AuthJWT   = "jwt"

	FormatEvent       = "event"
	FormatCloudEvents = "cloudevents"

	LogText = "text"
	LogJSON = "json"
)

// Defaults applied by SetDefaults to keys left empty or zero. A zero in the
// file means "the default": a limit cannot be switched off with 0 unless
// its default is 0.
const (
	DefaultSlot           = "pgcdc"
	DefaultPublication    = "pgcdc"
	DefaultTable          = "public.*" // source.tables is [DefaultTable]
	DefaultSnapshot       = SnapshotNever
	DefaultStatusInterval = 10 * time.Second

	DefaultReconnectInitial    = 500 * time.Millisecond
	DefaultReconnectMax        = 30 * time.Second
	DefaultReconnectMaxElapsed = time.Duration(0) // 0: retry forever

	DefaultBatchEvents      = 1024
	DefaultSinkQueue        = 64
	DefaultMaxInflightBytes = 64 << 20
	DefaultDrainTimeout     = 30 * time.Second

	DefaultListen    = "127.0.0.1:8080"
	DefaultAuthMode  = AuthNone
	DefaultJWTLeeway = 30 * time.Second // server.auth.jwt.leeway
	DefaultTicketTTL = 30 * time.Second // server.auth.ticket_ttl
	DefaultLogLevel  = "info"
	DefaultLogFormat = LogText

	// Broadcast sinks (sse, websocket).
	DefaultReplayMaxEvents = 10000
	DefaultReplayMaxBytes  = 32 << 20
	DefaultReplayMaxAge    = time.Hour
	DefaultClientBuffer    = 1024
	DefaultHeartbeat       = 15 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultClientRetry     = 2 * time.Second // sse only
	DefaultMaxMessageBytes = 64 << 10        // websocket only
	DefaultSSEPath         = "/events"       // when there is one sse sink
	DefaultWebSocketPath   = "/ws"           // when there is one websocket sink
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultWebhookFormat   = FormatEvent
	DefaultBatchMaxEvents  = 1
	DefaultBatchMaxBytes   = 1 << 20
	DefaultBatchMaxWait    = time.Duration(0)
	DefaultRetryInitial    = 200 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	DefaultRetryMaxElapsed = time.Hour
)

// SetDefaults fills every empty or zero key that has a default; it is the
// one place defaults live. Values already set are kept, so it may be
// called more than once. Type-specific defaults are applied only to sinks
// of that type, and a sink's name defaults to its type, and a broadcast
// sink's path to DefaultSSEPath or DefaultWebSocketPath, only when it is
// the one sink of its type.
func (c *Config) SetDefaults() {
	s := &c.Source
	setString(&s.Slot, DefaultSlot)
	setString(&s.Publication, DefaultPublication)
	if len(s.Tables) == 0 {
		s.Tables = []string{DefaultTable}
	}
	setString(&s.Snapshot, DefaultSnapshot)
	setDuration(&s.StatusInterval, DefaultStatusInterval)
	setDuration(&s.Reconnect.Initial, DefaultReconnectInitial)
	setDuration(&s.Reconnect.Max, DefaultReconnectMax)
	setDuration(&s.Reconnect.MaxElapsed, DefaultReconnectMaxElapsed)

	p := &c.Pipeline
	setInt(&p.BatchEvents, DefaultBatchEvents)
	setInt(&p.SinkQueue, DefaultSinkQueue)
	setInt64(&p.MaxInflightBytes, DefaultMaxInflightBytes)
	setDuration(&p.DrainTimeout, DefaultDrainTimeout)

	setString(&c.Server.Listen, DefaultListen)
	setString(&c.Server.Auth.Mode, DefaultAuthMode)
	if c.Server.Auth.Mode == AuthJWT {
		setDuration(&c.Server.Auth.JWT.Leeway, DefaultJWTLeeway)
	}
	if c.Server.Auth.Mode != AuthNone {
		setDuration(&c.Server.Auth.TicketTTL, DefaultTicketTTL)
	}
	setString(&c.Log.Level, DefaultLogLevel)
	setString(&c.Log.Format, DefaultLogFormat)

	perType := map[string]int{}
	for i := range c.Sinks {
		perType[c.Sinks[i].Type]++
	}
	for i := range c.Sinks {
		k := &c.Sinks[i]
		unique := perType[k.Type] == 1
		if unique && k.Type != "" {
			setString(&k.Name, k.Type)
		}
		switch k.Type {
		case TypeSSE:
			setBroadcastDefaults(&k.Broadcast)
			setDuration(&k.ClientRetry, DefaultClientRetry)
			if unique {
				setString(&k.Path, DefaultSSEPath)
			}
		case TypeWebSocket:
			setBroadcastDefaults(&k.Broadcast)
			setInt64(&k.MaxMessageBytes, DefaultMaxMessageBytes)
			if unique {
				setString(&k.Path, DefaultWebSocketPath)
			}
		case TypeWebhook:
			w := &k.Webhook
			setDuration(&w.Timeout, DefaultWebhookTimeout)
			setString(&w.Format, DefaultWebhookFormat)
			setInt(&w.Batch.MaxEvents, DefaultBatchMaxEvents)
			setInt64(&w.Batch.MaxBytes, DefaultBatchMaxBytes)
			setDuration(&w.Batch.MaxWait, DefaultBatchMaxWait)
			setDuration(&w.Retry.Initial, DefaultRetryInitial)
			setDuration(&w.Retry.Max, DefaultRetryMax)
			setDuration(&w.Retry.MaxElapsed, DefaultRetryMaxElapsed)
		}
	}
}

// setBroadcastDefaults fills the settings shared by sse and websocket.
func setBroadcastDefaults(b *Broadcast) {
	setInt(&b.Replay.MaxEvents, DefaultReplayMaxEvents)
	setInt64(&b.Replay.MaxBytes, DefaultReplayMaxBytes)
	setDuration(&b.Replay.MaxAge, DefaultReplayMaxAge)
	setInt(&b.ClientBuffer, DefaultClientBuffer)
	setDuration(&b.Heartbeat, DefaultHeartbeat)
	setDuration(&b.WriteTimeout, DefaultWriteTimeout)
}

func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func setInt64(p *int64, def int64) {
	if *p == 0 {
		*p = def
	}
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}
