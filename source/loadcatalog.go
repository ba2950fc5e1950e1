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
	s := New(nil, Config{Publication: publication}, nil)
	s.sql = conn
	if err := s.cat.load(ctx, conn, publication, s.types); err != nil {
		return nil, err
	}
	return s.cat, nil
}
