package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// slotName is what PostgreSQL accepts as a replication slot name; the same
// rule is applied to publications so that both are safe unquoted.
var slotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// Validate checks the configuration after SetDefaults and returns every
// problem at once as Errors, each with its key path and a hint, e.g.
//
//	sinks[1].retry.max: must be >= retry.initial (200ms)
//
// Every number and duration has a range (see the README's configuration
// reference); filters and projections are checked with the same parser
// the pipeline uses (package pipeline/transform). Validate does not touch
// the network or the file system. Features that are configured but not
// implemented yet are errors, never silently ignored. Validate requires
// everything run needs; see Needs and Document.Resolve for less.
func (c *Config) Validate() error {
	var errs errorList
	c.validate(&errs, NeedAll)
	return errs.err()
}

// validate records every problem of c, insisting on the required keys of
// the parts in needs.
func (c *Config) validate(errs *errorList, needs Needs) {
	c.validateSource(errs, needs&NeedSource != 0)
	for i := range c.Transforms {
		validateTransform(errs, index("transforms", i), &c.Transforms[i])
	}
	c.validatePipeline(errs)
	c.validateServer(errs)
	c.validateSinks(errs, needs&NeedSinks != 0)
	c.validateDashboard(errs)
	c.validateLog(errs)
	c.validateNATS(errs)
}

// validateDashboard checks the dashboard block: its path, and that it
// names an sse sink (it streams from one).
func (c *Config) validateDashboard(errs *errorList) {
	d := c.Dashboard
	if d.Disabled {
		return
	}
	if p := d.Path; p != "" && (!strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.ContainsAny(p, "{}?# \t\r\n")) {
		errs.add("dashboard.path", "want a path that starts and ends with /, such as / or /dashboard/, without braces, spaces, ? or #")
	}
	if d.Sink == "" {
		if d.Path != "" {
			errs.add("dashboard.sink", "the dashboard streams from an sse sink and there is none: add one (type: sse), or set dashboard.disabled: true")
		}
		return
	}
	for _, k := range c.Sinks {
		if k.Name == d.Sink {
			if k.Type != TypeSSE {
				errs.add("dashboard.sink", "sink %q is of type %s: the dashboard streams from an sse sink", d.Sink, k.Type)
			}
			return
		}
	}
	errs.add("dashboard.sink", "no sink is named %q: name an sse sink", d.Sink)
}

// Warnings returns the problems of c that do not stop pgcdc but that the
// user should hear about: a webhook secret shorter than the 24 bytes
// docs/webhooks.md recommends, a webhook that does not verify the
// receiver's certificate.
func (c *Config) Warnings() Errors {
	var ws errorList
	for i, k := range c.Sinks {
		if k.Type != TypeWebhook {
			continue
		}
		path := index("sinks", i)
		if n, err := secretKeyLen(k.Secret); err == nil && k.Secret != "" && n < minSecretBytes {
			ws.add(path+".secret", "the signing key is %d bytes: use at least %d (docs/webhooks.md), e.g. \"whsec_\" and the base64 of 32 random bytes", n, minSecretBytes)
		}
		if k.TLS.InsecureSkipVerify {
			ws.add(path+".tls.insecure_skip_verify", "the receiver's certificate is not verified: anyone on the path can read and forge the requests")
		}
	}
	return ws.errs
}

func (c *Config) validateSource(errs *errorList, required bool) {
	s := &c.Source
	switch s.Type {
	case SourceReplication:
	case SourceTriggers:
		validateTriggers(errs, &s.Triggers, true)
	case SourceListen:
		validateListen(errs, &s.Listen)
	case SourceNATS:
		required = false // an edge reads the stream, not PostgreSQL
	default:
		errs.add("source.type", "unknown source type %s: want %s, %s, %s or %s", quoteValue(s.Type), SourceReplication, SourceTriggers, SourceListen, SourceNATS)
	}
	if s.Type != SourceTriggers {
		validateTriggers(errs, &s.Triggers, false)
	}
	if strings.TrimSpace(s.DSN) == "" && required {
		errs.add("source.dsn", "required: set it in the file (e.g. dsn: ${DATABASE_URL}) or as %sSOURCE_DSN", EnvPrefix)
	}
	validateIdent(errs, "source.slot", s.Slot, "replication slot")
	validateIdent(errs, "source.publication", s.Publication, "publication")
	if len(s.Tables) == 0 {
		errs.add("source.tables", `required: at least one "schema.table" glob, e.g. "public.*"`)
	} else {
		_, err := transform.NewFilter(transform.FilterSpec{Tables: s.Tables})
		addSubErrors(errs, "source", err)
	}
	switch s.Snapshot {
	case SnapshotNever:
	case SnapshotInitial:
		if s.Type != SourceReplication {
			errs.add("source.snapshot", "%q works with source.type %s only (watermarks in the WAL)", SnapshotInitial, SourceReplication)
		}
	default:
		errs.add("source.snapshot", "unknown value %s: want %s or %s", quoteValue(s.Snapshot), SnapshotNever, SnapshotInitial)
	}
	// Above PostgreSQL's wal_sender_timeout (60s by default) the server
	// asks for a status itself; 10m only bounds a mistake.
	inRange(errs, "source.status_interval", s.StatusInterval, 100*time.Millisecond, 10*time.Minute)
	// A chunk is held in memory between its watermarks.
	inRange(errs, "source.snapshot_chunk_rows", s.SnapshotChunkRows, 100, 1_000_000)
	validateBackoff(errs, "source.reconnect", s.Reconnect, "0: retry forever")
	inRange(errs, "source.retained_wal_warn", s.RetainedWALWarn, 1<<20, 1<<50) // 1 MiB to 1 PiB
}

// validateTriggers checks source.triggers: all of it for source.type
// triggers (active), else only the numbers that are set, so that a range
// mistake is reported even before the type is switched.
func validateTriggers(errs *errorList, t *Triggers, active bool) {
	if active {
		validateIdent(errs, "source.triggers.schema", t.Schema, "schema")
		switch t.Wake {
		case WakeNotify, WakePoll:
		default:
			errs.add("source.triggers.wake", "unknown value %s: want %s or %s", quoteValue(t.Wake), WakeNotify, WakePoll)
		}
	}
	if active || t.PollInterval != 0 {
		inRange(errs, "source.triggers.poll_interval", t.PollInterval, 10*time.Millisecond, 10*time.Minute)
	}
	if (active || t.BacklogWarn != 0) && (t.BacklogWarn < 1 || t.BacklogWarn > 1<<40) {
		errs.add("source.triggers.backlog_warn", "%d is out of range: want 1 to %d rows", t.BacklogWarn, int64(1)<<40)
	}
}

// validateListen checks source.listen (source.type listen).
func validateListen(errs *errorList, l *Listen) {
	if len(l.Channels) == 0 {
		errs.add("source.listen.channels", "required: the pg_notify channels to LISTEN on, e.g. [table_changes]")
	}
	for i, c := range l.Channels {
		if c == "" || len(c) > 63 {
			errs.add(index("source.listen.channels", i), "invalid channel %s: want 1 to 63 characters", quoteValue(c))
		}
	}
	f := l.Fields
	for _, k := range []struct{ path, v string }{{"schema", f.Schema}, {"table", f.Table}, {"op", f.Op}, {"row", f.Row}, {"old_row", f.OldRow}} {
		if k.v == "" || strings.HasPrefix(k.v, ".") || strings.HasSuffix(k.v, ".") || strings.Contains(k.v, "..") {
			errs.add("source.listen.fields."+k.path, "invalid payload key %s: want a key or a dotted path (payload.record)", quoteValue(k.v))
		}
	}
}

// validateIdent checks a slot or publication name.
func validateIdent(errs *errorList, path, name, what string) {
	if !slotName.MatchString(name) {
		errs.add(path, "invalid %s name %s: want 1 to 63 lowercase letters, digits or _", what, quoteValue(name))
	}
}

// validateBackoff checks an exponential backoff schedule; zero says what
// a max_elapsed of 0 means.
func validateBackoff(errs *errorList, path string, b Backoff, zero string) {
	inRange(errs, path+".initial", b.Initial, time.Millisecond, time.Hour)
	if b.Max < b.Initial {
		errs.add(path+".max", "must be >= %s.initial (%s)", lastPart(path), b.Initial)
	} else {
		inRange(errs, path+".max", b.Max, time.Millisecond, 24*time.Hour)
	}
	if b.MaxElapsed < 0 || b.MaxElapsed > maxElapsed {
		errs.add(path+".max_elapsed", "%s is out of range: want 0 to %s (%s)", shortDuration(b.MaxElapsed), shortDuration(maxElapsed), zero)
	}
}

// maxElapsed bounds retry.max_elapsed and reconnect.max_elapsed: 30 days.
const maxElapsed = 720 * time.Hour

// validateTransform checks one entry of the global transform chain.
func validateTransform(errs *errorList, path string, t *Transform) {
	switch {
	case t.Filter != nil && t.Project != nil:
		errs.add(path, "has both filter and project: write them as two entries, in the order they apply")
	case t.Filter != nil:
		validateFilter(errs, path+".filter", t.Filter)
	case t.Project != nil:
		validateProject(errs, path+".project", t.Project)
	default:
		errs.add(path, "empty: want exactly one of filter or project")
	}
}

// validateFilter parses a filter with the pipeline's grammar.
func validateFilter(errs *errorList, path string, f *Filter) {
	if len(f.Tables) == 0 && len(f.ExcludeTables) == 0 && len(f.Ops) == 0 && len(f.Where) == 0 {
		errs.add(path, "empty: set tables, exclude_tables, ops or where (or remove it)")
		return
	}
	_, err := transform.NewFilter(transform.FilterSpec{
		Tables:        f.Tables,
		ExcludeTables: f.ExcludeTables,
		Ops:           f.Ops,
		Where:         f.Where,
	})
	addSubErrors(errs, path, err)
}

// validateProject parses a projection with the pipeline's grammar.
func validateProject(errs *errorList, path string, p *Project) {
	_, err := transform.NewProject(transform.ProjectSpec{
		Tables:  p.Tables,
		Include: p.Include,
		Exclude: p.Exclude,
	})
	addSubErrors(errs, path, err)
}

// addSubErrors records err from package transform, whose problems name
// a field below path ("where[1]"), as problems at the full path
// ("transforms[0].filter.where[1]").
func addSubErrors(errs *errorList, path string, err error) {
	if err == nil {
		return
	}
	var tes transform.Errors
	if !errors.As(err, &tes) {
		errs.add(path, "%v", err)
		return
	}
	for _, e := range tes {
		errs.add(join(path, e.Field), "%v", e.Err)
	}
}

func (c *Config) validatePipeline(errs *errorList) {
	p := &c.Pipeline
	// A batch is one slice of events; a larger transaction is split.
	inRange(errs, "pipeline.batch_events", p.BatchEvents, 1, 100_000)
	// Each sink's inbox is a channel allocated up front; memory is bounded
	// by max_inflight_bytes anyway, so a deeper queue buys nothing.
	inRange(errs, "pipeline.sink_queue", p.SinkQueue, 1, 65_536)
	// A budget, not an allocation: below 64 KiB the source waits on almost
	// every event; 1 TiB is more than any host has.
	inRange(errs, "pipeline.max_inflight_bytes", p.MaxInflightBytes, 64<<10, 1<<40)
	inRange(errs, "pipeline.drain_timeout", p.DrainTimeout, 100*time.Millisecond, time.Hour)
}

func (c *Config) validateServer(errs *errorList) {
	switch {
	case c.Server.Listen == "" && c.needsServer():
		errs.add("server.listen", `is "" (HTTP off), but an sse or websocket sink needs the server: set an address such as "127.0.0.1:8080"`)
	case c.Server.Listen != "":
		if err := checkHostPort(c.Server.Listen); err != nil {
			errs.add("server.listen", "%v", err)
		}
	}
	for i, h := range c.Server.AllowedHosts {
		if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, "/@ ?#") {
			errs.add(fmt.Sprintf("server.allowed_hosts[%d]", i), `want a host name, optionally with a port, such as "app.example.com" or "app.example.com:8443", or "*"`)
		}
	}
	c.validateAuth(errs)
	l := c.Server.Limits
	inRange(errs, "server.limits.connections", l.Connections, 1, 10_000_000)
	inRange(errs, "server.limits.connections_per_ip", l.ConnectionsPerIP, 1, 10_000_000)
	inRange(errs, "server.limits.subscriptions_per_connection", l.SubscriptionsPerConnection, 1, 10_000)
	inRange(errs, "server.limits.client_messages_per_second", l.ClientMessagesPerSecond, 1, 1_000_000)
	inRange(errs, "server.limits.max_header_bytes", l.MaxHeaderBytes, 1<<10, 16<<20)
	inRange(errs, "server.limits.read_header_timeout", l.ReadHeaderTimeout, 100*time.Millisecond, 10*time.Minute)
	inRange(errs, "server.limits.idle_timeout", l.IdleTimeout, time.Second, 24*time.Hour)
	if t := c.Server.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		errs.add("server.tls", "set both cert_file and key_file (PEM files), or neither for plain HTTP")
	}
}

// LoopbackListen reports whether addr (host:port) listens on loopback
// only: localhost or a loopback IP address.
func LoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkOpenListen refuses live endpoints that listen beyond loopback
// without authentication unless mode none was asked for explicitly (in
// the file or by PGCDC_SERVER_AUTH_MODE): a default must not expose every
// change to the network.
func (c *Config) checkOpenListen(explicit bool) *FieldError {
	if c.Server.Listen == "" || c.Server.Auth.Mode != AuthNone || explicit || LoopbackListen(c.Server.Listen) || !c.needsServer() {
		return nil
	}
	return &FieldError{Path: "server.auth", Msg: fmt.Sprintf("server.listen %s is reachable from other machines and the live endpoints have no authentication: "+
		"set server.auth (mode token or jwt, docs/security.md), or write auth: {mode: none} to serve every change to anyone who can connect, or listen on 127.0.0.1", c.Server.Listen)}
}

// checkHostPort checks a listen address of the form host:port.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New(`want host:port, e.g. "127.0.0.1:8080" or ":8080"`)
	}
	if strings.ContainsAny(host, " /") {
		return errors.New(`want host:port with a host name or IP address, e.g. "127.0.0.1:8080"`)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New(`want host:port with a port number from 0 to 65535, e.g. "127.0.0.1:8080"`)
	}
	return nil
}

func (c *Config) validateLog(errs *errorList) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs.add("log.level", "unknown level %s: want one of debug, info, warn, error", quoteValue(c.Log.Level))
	}
	switch c.Log.Format {
	case LogText, LogJSON:
	default:
		errs.add("log.format", "unknown format %s: want %s or %s", quoteValue(c.Log.Format), LogText, LogJSON)
	}
}

// inRange records a problem unless lo <= n <= hi.
func inRange[T int | int64 | time.Duration](errs *errorList, path string, n, lo, hi T) {
	if n < lo || n > hi {
		bytes := strings.HasSuffix(path, "bytes")
		errs.add(path, "%s is out of range: want %s to %s", show(n, false), show(lo, bytes), show(hi, bytes))
	}
}

// show formats a number or duration of a range message; a byte count
// that is a whole number of KiB, MiB, GiB or TiB says so.
func show[T int | int64 | time.Duration](n T, bytes bool) string {
	if d, ok := any(n).(time.Duration); ok {
		return shortDuration(d)
	}
	s := strconv.FormatInt(int64(n), 10)
	if !bytes {
		return s
	}
	for shift, unit := range map[int]string{40: "TiB", 30: "GiB", 20: "MiB", 10: "KiB"} {
		if size := int64(1) << shift; int64(n) >= size && int64(n)%size == 0 && (int64(n)%(size<<10) != 0 || shift == 40) {
			return fmt.Sprintf("%s (%d %s)", s, int64(n)/size, unit)
		}
	}
	return s
}

// shortDuration formats d as it would be written: "10m", not "10m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// lastPart returns the last element of a dotted path.
func lastPart(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}
