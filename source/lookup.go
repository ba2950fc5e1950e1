package source

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// sqlConn returns the SQL connection of the reader, reconnecting if it
// was lost. Only Prepare and then the goroutine that reads the stream use
// it.
func (s *Source) sqlConn(ctx context.Context) (*pgx.Conn, error) {
	if s.sql == nil || s.sql.IsClosed() {
		c, err := s.conn.SQL(ctx)
		if err != nil {
			return nil, err
		}
		s.sql = c
	}
	return s.sql, nil
}

// lookupType asks pg_type about a type on the reader's SQL connection,
// reconnecting once if it was lost.
func (s *Source) lookupType(ctx context.Context, oid uint32) (typeInfo, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.sqlConn(ctx)
		if err != nil {
			return typeInfo{}, err
		}
		info, err := lookupTypeOn(ctx, conn, oid)
		if err == nil || attempt > 0 || !conn.IsClosed() {
			return info, err
		}
	}
}

// lookupTypeOn asks pg_type about a type; pgx.ErrNoRows when there is no
// such type (any more).
func lookupTypeOn(ctx context.Context, conn *pgx.Conn, oid uint32) (typeInfo, error) {
	var info typeInfo
	var typtype, category, delim string
	if err := conn.QueryRow(ctx, typeQuery, oid).Scan(&typtype, &category, &info.baseType, &info.elemType, &delim, &info.name); err != nil {
		return info, err
	}
	info.typtype, info.category = first(typtype), first(category)
	info.delim = first(delim)
	return info, nil
}

// primaryKey returns the primary key columns of the table with OID relID:
// from the database, else (the table was dropped before its changes were
// read) from the catalog as loaded by Prepare or the last Refresh. Empty
// when neither knows one.
func (s *Source) primaryKey(ctx context.Context, relID uint32) ([]string, error) {
	conn, err := s.sqlConn(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, `SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1 AND i.indisprimary`, relID)
	if err != nil {
		return nil, err
	}
	pk, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(pk) > 0 {
		return pk, err
	}
	pk, _ = s.cat.primaryKey(relID)
	return pk, nil
}

// reloadCatalog reads the publication's tables for Catalog().Refresh, on
// a connection of its own: the reader's belongs to the reader.
func (s *Source) reloadCatalog(ctx context.Context) (map[string]pipeline.TableInfo, map[uint32][]string, error) {
	conn, err := s.conn.SQL(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	types := newTypeRegistry(func(ctx context.Context, oid uint32) (typeInfo, error) { return lookupTypeOn(ctx, conn, oid) })
	return loadPublished(ctx, conn, s.cfg.Publication, types)
}

func first(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}
