package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
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

// streamType is what a pgoutput Type message says about a user-defined
// type: the namespace ("" for pg_catalog) and name of its base type (a
// domain's base type; an enum, composite or array itself).
type streamType struct{ namespace, name string }

// typeRegistry maps type OIDs to converters, asking the database about
// enums, domains, composites and their arrays once each. A type the
// database no longer has (dropped while changes using it were still in the
// slot) is converted from what the stream said about it, else as text.
type typeRegistry struct {
	conv   map[uint32]converter
	lookup typeLookup
	pgx    *pgtype.Map
	stream map[uint32]streamType
}

func newTypeRegistry(lookup typeLookup) *typeRegistry {
	return &typeRegistry{conv: map[uint32]converter{}, lookup: lookup, pgx: pgtype.NewMap(), stream: map[uint32]streamType{}}
}

// fromStream records a Type message. pgoutput sends one before the
// Relation message that uses a user-defined type, from the catalog as it
// was when the change was written, so it still names a dropped type.
func (r *typeRegistry) fromStream(oid uint32, namespace, name string) {
	r.stream[oid] = streamType{namespace, name}
}

// get returns the converter for oid. Unknown types become JSON strings of
// their text form, which is lossless; an error is returned only when the
// database could not be asked (retrying may help).
func (r *typeRegistry) get(ctx context.Context, oid uint32) (converter, error) {
	return r.resolve(ctx, oid, 0)
}

// droppedType is the converter of a type pg_type no longer has: a built-in
// base type (a dropped domain over int4) converts as that type, anything
// else as a JSON string of its text.
func (r *typeRegistry) droppedType(ctx context.Context, oid uint32, depth int) (converter, error) {
	c := convString
	c.typ = fmt.Sprintf("oid:%d", oid)
	st, ok := r.stream[oid]
	if !ok {
		return c, nil
	}
	if st.namespace == "" { // pg_catalog: a built-in base type
		if t, ok := r.pgx.TypeForName(st.name); ok && t.OID != oid {
			return r.resolve(ctx, t.OID, depth+1)
		}
	}
	c.typ = st.name
	if st.namespace != "" {
		c.typ = st.namespace + "." + st.name
	}
	return c, nil
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
			c := arrayConverter(elem, builtinDelim(ac.ElementType.OID))
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
	if errors.Is(err, pgx.ErrNoRows) {
		c, err := r.droppedType(ctx, oid, depth)
		if err == nil {
			r.conv[oid] = c
		}
		return c, err
	}
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

// oidBox is box, the one built-in type whose array delimiter (typdelim) is
// ';' rather than ',' (TestBuiltinDelimiters checks this against pg_type).
const oidBox = 603

// builtinDelim returns the array delimiter of a built-in element type.
func builtinDelim(elem uint32) byte {
	if elem == oidBox {
		return ';'
	}
	return ','
}
