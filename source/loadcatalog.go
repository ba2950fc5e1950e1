package source

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline"
)

// LoadCatalog reads the tables publication publishes as the source would
// see them (column kinds included), for checking a config's filters
// against them without streaming (pgcdc check).
func LoadCatalog(ctx context.Context, conn *pgx.Conn, publication string) (pipeline.Catalog, error) {
	types := newTypeRegistry(func(ctx context.Context, oid uint32) (typeInfo, error) { return lookupTypeOn(ctx, conn, oid) })
	tables, keys, err := loadPublished(ctx, conn, publication, types)
	if err != nil {
		return nil, err
	}
	c := newCatalog()
	c.replace(tables, keys)
	return c, nil
}
