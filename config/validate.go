package config

import (
	"errors"
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
// Filters and projections are checked with the same parser the pipeline
// uses (package pipeline/transform). Validate does not touch the network
// or the file system. Features that are configured but not implemented
// yet (snapshot initial) are errors, never silently ignored.
func (c *Config) Validate() error {
	var errs errorList
	c.validateSource(&errs)
	for i := range c.Transforms {
		validateTransform(&errs, index("transforms", i), &c.Transforms[i])
	}
	c.validatePipeline(&errs)
	c.validateServer(&errs)
	c.validateSinks(&errs)
	c.validateLog(&errs)
	return errs.err()
}

func (c *Config) validateSource(errs *errorList) {
	s := &c.Source
	if strings.TrimSpace(s.DSN) == "" {
		errs.add("source.dsn", "required (set it or DATABASE_URL via ${DATABASE_URL})")
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
		errs.add("source.snapshot", "%q is not implemented yet: use %q", SnapshotInitial, SnapshotNever)
	default:
		errs.add("source.snapshot", "unknown value %s: want %s or %s", quoteValue(s.Snapshot), SnapshotNever, SnapshotInitial)
	}
	positive(errs, "source.status_interval", s.StatusInterval)
	validateBackoff(errs, "source.reconnect", s.Reconnect)
}

// validateIdent checks a slot or publication name.
func validateIdent(errs *errorList, path, name, what string) {
	if !slotName.MatchString(name) {
		errs.add(path, "invalid %s name %s: want 1 to 63 lowercase letters, digits or _", what, quoteValue(name))
	}
}

// validateBackoff checks an exponential backoff schedule.
func validateBackoff(errs *errorList, path string, b Backoff) {
	positive(errs, path+".initial", b.Initial)
	if b.Max < b.Initial {
		errs.add(path+".max", "must be >= %s.initial (%s)", lastPart(path), b.Initial)
	}
	if b.MaxElapsed < 0 {
		errs.add(path+".max_elapsed", "must not be negative (0 retries forever)")
	}
}

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
	atLeast(errs, "pipeline.batch_events", int64(p.BatchEvents), 1)
	atLeast(errs, "pipeline.sink_queue", int64(p.SinkQueue), 1)
	atLeast(errs, "pipeline.max_inflight_bytes", p.MaxInflightBytes, 1)
	positive(errs, "pipeline.drain_timeout", p.DrainTimeout)
}

func (c *Config) validateServer(errs *errorList) {
	if err := checkHostPort(c.Server.Listen); err != nil {
		errs.add("server.listen", "%v", err)
	}
	c.validateAuth(errs)
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

// positive records a problem unless d > 0.
func positive(errs *errorList, path string, d time.Duration) {
	if d <= 0 {
		errs.add(path, "must be a positive duration, e.g. \"10s\"")
	}
}

// atLeast records a problem unless n >= lo.
func atLeast(errs *errorList, path string, n, lo int64) {
	if n < lo {
		errs.add(path, "must be >= %d", lo)
	}
}

// lastPart returns the last element of a dotted path.
func lastPart(path string) string {
	return path[strings.LastIndexByte(path, '.')+1:]
}
