package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// typeInfo is what pg_type says about a type the converter table does not
// know.
type typeInfo struct {
	typtype  byte   // b base, c composite, d domain, e enum, r range, m multirange, p pseudo
	category byte   // A for arrays
	baseType uint32 // domains
	elemType uint32 // arrays
	delim    byte
	name     string
}

// typeLookup fetches pg_type facts; nil means "no database to ask".
type typeLookup func(ctx context.Context, oid uint32) (typeInfo, error)

// typeRegistry maps type OIDs to converters, asking the database about
// enums, domains, composites and their arrays once each.
type typeRegistry struct {
	conv   map[uint32]converter
	lookup typeLookup
	pgx    *pgtype.Map
}

func newTypeRegistry(lookup typeLookup) *typeRegistry {
	return &typeRegistry{conv: map[uint32]converter{}, lookup: lookup, pgx: pgtype.NewMap()}
}

// get returns the converter for oid. Unknown types become JSON strings of
// their text form, which is lossless; an error is returned only when the
// database could not be asked.
func (r *typeRegistry) get(ctx context.Context, oid uint32) (converter, error) {
	return r.resolve(ctx, oid, 0)
}

func (r *typeRegistry) resolve(ctx context.Context, oid uint32, depth int) (converter, error) {
	if c, ok := r.conv[oid]; ok {
		return c, nil
	}
	if c, ok := builtin(oid); ok {
		if c.typ == "" {
			c.typ = typeName(oid)
		}
		r.conv[oid] = c
		return c, nil
	}
	if t, ok := r.pgx.TypeForOID(oid); ok {
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok && ac.ElementType != nil {
			elem, err := r.resolve(ctx, ac.ElementType.OID, depth+1)
			if err != nil {
				return converter{}, err
			}
			c := arrayConverter(elem, ',')
			r.conv[oid] = c
			return c, nil
		}
	}
	c := convString
	c.typ = fmt.Sprintf("oid:%d", oid)
	if r.lookup == nil || depth > 8 {
		return c, nil
	}
	info, err := r.lookup(ctx, oid)
	if err != nil {
		return converter{}, fmt.Errorf("look up type %d: %w", oid, err)
	}
	c.typ = info.name
	switch {
	case info.category == 'A' && info.elemType != 0:
		elem, err := r.resolve(ctx, info.elemType, depth+1)
		if err != nil {
			return converter{}, err
		}
		delim := info.delim
		if delim == 0 {
			delim = ','
		}
		c = arrayConverter(elem, delim)
		c.typ = info.name
	case info.typtype == 'd' && info.baseType != 0:
		base, err := r.resolve(ctx, info.baseType, depth+1)
		if err != nil {
			return converter{}, err
		}
		c = base
		c.typ = info.name
	}
	r.conv[oid] = c
	return c, nil
}

const typeQuery = `SELECT t.typtype::text, t.typcategory::text, t.typbasetype, t.typelem, t.typdelim::text, format_type(t.oid, NULL)
FROM pg_type t WHERE t.oid = $1`
