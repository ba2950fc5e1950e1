package source

import (
	"context"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// This file exports the replication source's value conversion to the other
// sources (source/triggers, source/listen), so that a value reaches the
// event as the same JSON whichever way it was captured.

// SessionSettings returns the settings under which the replication source
// reads PostgreSQL's text output (TimeZone=UTC, DateStyle=ISO, YMD,
// IntervalStyle=iso_8601, extra_float_digits=3, bytea_output=hex). A
// source that formats values inside the database (a trigger function)
// pins the same settings, so that its text is what pgoutput would send.
func SessionSettings() map[string]string {
	m := maps.Clone(sessionParams)
	delete(m, "application_name")
	return m
}

// Codec converts the values of one PostgreSQL type, given in the type's
// text output form under SessionSettings, to event JSON exactly as the
// replication source does. Its zero value converts like text.
type Codec struct{ c converter }

// Kind is how the values encode and compare (pipeline.Kind).
func (c Codec) Kind() pipeline.Kind { return c.c.kind }

// TypeName names the type for the catalog, e.g. "int8" or "text[]".
func (c Codec) TypeName() string { return c.c.typ }

// AppendJSON appends the JSON of one value's text form to dst. It never
// fails: a text that does not have the type's shape becomes a JSON string.
func (c Codec) AppendJSON(dst, text []byte) []byte {
	if c.c.encode == nil {
		return appendString(dst, text)
	}
	return c.c.encode(dst, text)
}

// Codecs resolves type OIDs to Codecs, asking the database about
// user-defined types (enums, domains, composites, their arrays) once each.
// It is not safe for concurrent use.
type Codecs struct{ reg *typeRegistry }

// NewCodecs returns Codecs that look user-defined types up on the
// connection conn returns (called for each lookup, so that the caller may
// reconnect). With a nil conn only built-in types are known and the others
// convert as text.
func NewCodecs(conn func(ctx context.Context) (*pgx.Conn, error)) *Codecs {
	if conn == nil {
		return &Codecs{reg: newTypeRegistry(nil)}
	}
	return &Codecs{reg: newTypeRegistry(func(ctx context.Context, oid uint32) (typeInfo, error) {
		var info typeInfo
		c, err := conn(ctx)
		if err != nil {
			return info, err
		}
		var typtype, category, delim string
		if err := c.QueryRow(ctx, typeQuery, oid).Scan(&typtype, &category, &info.baseType, &info.elemType, &delim, &info.name); err != nil {
			return info, err
		}
		info.typtype, info.category, info.delim = first(typtype), first(category), first(delim)
		return info, nil
	})}
}

// Get returns the Codec of the type with OID oid. An error means the
// database could not be asked; an unknown type converts as text.
func (c *Codecs) Get(ctx context.Context, oid uint32) (Codec, error) {
	conv, err := c.reg.get(ctx, oid)
	if err != nil {
		return Codec{}, err
	}
	return Codec{conv}, nil
}
