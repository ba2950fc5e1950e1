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
	SourceReplication = "replication"
	SourceTriggers    = "triggers"
	SourceListen      = "listen"
	SourceNATS        = "nats"

	SnapshotNever   = "never"
	SnapshotInitial = "initial"

	AuthNone  = "none"
	AuthToken = "token"
	AuthJWT   = "jwt"

	FormatEvent       = "event"
	FormatCloudEvents = "cloudevents"

	LogText = "text"
	LogJSON = "json"

	WakeNotify = "notify"
	WakePoll   = "poll"
)

// Defaults applied by SetDefaults to keys left empty or zero. A zero in the
// file means "the default": a limit cannot be switched off with 0 unless
// its default is 0.
const (
	DefaultSlot        = "pgcdc"
	DefaultPublication = "pgcdc"
	DefaultTable       = "public.*" // source.tables is [DefaultTable]
	DefaultSnapshot    = SnapshotNever
	// DefaultSnapshotChunkRows rows per snapshot chunk: large enough that
	// the two watermark transactions per chunk cost little, small enough
	// that a chunk held between its watermarks is a few MiB.
	DefaultSnapshotChunkRows = 10000
	DefaultStatusInterval    = 10 * time.Second

	DefaultReconnectInitial    = 500 * time.Millisecond
	DefaultReconnectMax        = 30 * time.Second
	DefaultReconnectMaxElapsed = time.Duration(0) // 0: retry forever
	DefaultRetainedWALWarn     = int64(1 << 30)   // 1 GiB

	// source.type triggers.
	DefaultTriggersSchema      = "pgcdc"
	DefaultTriggersWake        = WakeNotify
	DefaultTriggersPoll        = time.Second
	DefaultTriggersBacklogWarn = int64(100000)
	// source.type listen: payload keys.
	DefaultListenSchemaField = "schema"
	DefaultListenTableField  = "table"
	DefaultListenOpField     = "op"
	DefaultListenRowField    = "row"
	DefaultListenOldRowField = "old_row"

	DefaultBatchEvents      = 1024
	DefaultSinkQueue        = 64
	DefaultMaxInflightBytes = 64 << 20
	DefaultDrainTimeout     = 30 * time.Second

	DefaultListen    = "127.0.0.1:8080"
	DefaultAuthMode  = AuthNone
	DefaultJWTLeeway = 30 * time.Second // server.auth.jwt.leeway
	DefaultTicketTTL = 30 * time.Second // server.auth.ticket_ttl
	// server.limits
	DefaultMaxConnections          = 10000
	DefaultMaxConnectionsPerIP     = 2000
	DefaultMaxSubscriptions        = 64
	DefaultClientMessagesPerSecond = 20
	DefaultMaxHeaderBytes          = 64 << 10
	DefaultReadHeaderTimeout       = 10 * time.Second
	DefaultIdleTimeout             = 2 * time.Minute
	DefaultLogLevel                = "info"
	DefaultLogFormat               = LogText

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
	DefaultDashboardPath   = "/"             // when an sse sink exists
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultWebhookFormat   = FormatEvent
	DefaultBatchMaxEvents  = 1
	DefaultBatchMaxBytes   = 1 << 20
	DefaultBatchMaxWait    = time.Duration(0)
	DefaultRetryInitial    = 200 * time.Millisecond
	DefaultRetryMax        = 30 * time.Second
	DefaultRetryMaxElapsed = time.Hour
)

// SetDefaults fills every empty or zero key that has a default. It is
// where the configuration's defaults are decided: internal/wiring passes
// the resulting values on, and the webhook and stdout sinks have no
// defaults of their own. (sinks/sse, sinks/ws, sinks/hub, source.New and
// pipeline.New still fall back on zero values for callers that do not
// come through config; those fallbacks must agree with the Default*
// constants.) Values already set are kept, so it may be called more than
// once. Type-specific defaults are applied only to sinks
// of that type, and a sink's name defaults to its type, and a broadcast
// sink's path to DefaultSSEPath or DefaultWebSocketPath, only when it is
// the one sink of its type.
func (c *Config) SetDefaults() {
	s := &c.Source
	setDefault(&s.Slot, DefaultSlot)
	setDefault(&s.Publication, DefaultPublication)
	if len(s.Tables) == 0 {
		s.Tables = []string{DefaultTable}
	}
	setDefault(&s.Type, SourceReplication)
	setDefault(&s.Snapshot, DefaultSnapshot)
	setDefault(&s.SnapshotChunkRows, DefaultSnapshotChunkRows)
	setDefault(&s.StatusInterval, DefaultStatusInterval)
	setDefault(&s.Reconnect.Initial, DefaultReconnectInitial)
	setDefault(&s.Reconnect.Max, DefaultReconnectMax)
	setDefault(&s.Reconnect.MaxElapsed, DefaultReconnectMaxElapsed)
	setDefault(&s.RetainedWALWarn, DefaultRetainedWALWarn)
	switch s.Type {
	case SourceTriggers:
		t := &s.Triggers
		setDefault(&t.Schema, DefaultTriggersSchema)
		setDefault(&t.Wake, DefaultTriggersWake)
		setDefault(&t.PollInterval, DefaultTriggersPoll)
		setDefault(&t.BacklogWarn, DefaultTriggersBacklogWarn)
	case SourceListen:
		f := &s.Listen.Fields
		setDefault(&f.Schema, DefaultListenSchemaField)
		setDefault(&f.Table, DefaultListenTableField)
		setDefault(&f.Op, DefaultListenOpField)
		setDefault(&f.Row, DefaultListenRowField)
		setDefault(&f.OldRow, DefaultListenOldRowField)
	}

	p := &c.Pipeline
	setDefault(&p.BatchEvents, DefaultBatchEvents)
	setDefault(&p.SinkQueue, DefaultSinkQueue)
	setDefault(&p.MaxInflightBytes, DefaultMaxInflightBytes)
	setDefault(&p.DrainTimeout, DefaultDrainTimeout)

	if c.needsServer() {
		setDefault(&c.Server.Listen, DefaultListen)
	}
	setDefault(&c.Server.Auth.Mode, DefaultAuthMode)
	if c.Server.Auth.Mode == AuthJWT {
		setDefault(&c.Server.Auth.JWT.Leeway, DefaultJWTLeeway)
	}
	if c.Server.Auth.Mode != AuthNone {
		setDefault(&c.Server.Auth.TicketTTL, DefaultTicketTTL)
	}
	l := &c.Server.Limits
	setDefault(&l.Connections, DefaultMaxConnections)
	setDefault(&l.ConnectionsPerIP, DefaultMaxConnectionsPerIP)
	setDefault(&l.SubscriptionsPerConnection, DefaultMaxSubscriptions)
	setDefault(&l.ClientMessagesPerSecond, DefaultClientMessagesPerSecond)
	setDefault(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&l.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)
	c.setNATSDefaults()

	perType := map[string]int{}
	for i := range c.Sinks {
		perType[c.Sinks[i].Type]++
	}
	for i := range c.Sinks {
		k := &c.Sinks[i]
		unique := perType[k.Type] == 1
		if unique && k.Type != "" {
			setDefault(&k.Name, k.Type)
		}
		switch k.Type {
		case TypeSSE:
			setBroadcastDefaults(&k.Broadcast)
			setDefault(&k.ClientRetry, DefaultClientRetry)
			if unique {
				setDefault(&k.Path, DefaultSSEPath)
			}
		case TypeWebSocket:
			setBroadcastDefaults(&k.Broadcast)
			setDefault(&k.MaxMessageBytes, DefaultMaxMessageBytes)
			if unique {
				setDefault(&k.Path, DefaultWebSocketPath)
			}
		case TypeWebhook:
			w := &k.Webhook
			setDefault(&w.Timeout, DefaultWebhookTimeout)
			setDefault(&w.Format, DefaultWebhookFormat)
			setDefault(&w.Batch.MaxEvents, DefaultBatchMaxEvents)
			setDefault(&w.Batch.MaxBytes, DefaultBatchMaxBytes)
			setDefault(&w.Batch.MaxWait, DefaultBatchMaxWait)
			setDefault(&w.Retry.Initial, DefaultRetryInitial)
			setDefault(&w.Retry.Max, DefaultRetryMax)
			setDefault(&w.Retry.MaxElapsed, DefaultRetryMaxElapsed)
		}
	}
	c.setDashboardDefaults()
}

// setDashboardDefaults points the dashboard at the first sse sink and
// serves it at DefaultDashboardPath, when it is not disabled and an sse
// sink exists (sink names are defaulted first).
func (c *Config) setDashboardDefaults() {
	d := &c.Dashboard
	if d.Disabled || c.Server.Listen == "" {
		return
	}
	for _, k := range c.Sinks {
		if k.Type == TypeSSE && k.Name != "" {
			setDefault(&d.Sink, k.Name)
			setDefault(&d.Path, DefaultDashboardPath)
			return
		}
	}
}

// needsServer reports whether a sink needs the HTTP server (an sse or
// websocket sink): only then does server.listen default to DefaultListen.
func (c *Config) needsServer() bool {
	for _, k := range c.Sinks {
		if k.Type == TypeSSE || k.Type == TypeWebSocket {
			return true
		}
	}
	return false
}

// setBroadcastDefaults fills the settings shared by sse and websocket.
func setBroadcastDefaults(b *Broadcast) {
	setDefault(&b.Replay.MaxEvents, DefaultReplayMaxEvents)
	setDefault(&b.Replay.MaxBytes, DefaultReplayMaxBytes)
	setDefault(&b.Replay.MaxAge, DefaultReplayMaxAge)
	setDefault(&b.ClientBuffer, DefaultClientBuffer)
	setDefault(&b.Heartbeat, DefaultHeartbeat)
	setDefault(&b.WriteTimeout, DefaultWriteTimeout)
}

// setDefault sets *p to def when it is the zero value.
func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
