package wiring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/source"
)

// SnapshotRequest checks what `pgcdc snapshot` asks for against the config
// and the tables the publication publishes (cat): the table must be one
// of them, named literally; the sink, when given, one of the config's;
// each where filter must parse and fit the table (a typo would silently
// send nothing).
func SnapshotRequest(cfg *config.Config, cat pipeline.Catalog, table string, where []string, sink string) (source.SnapshotRequest, error) {
	var req source.SnapshotRequest
	p, err := transform.ParseTablePattern(table)
	if err != nil {
		return req, fmt.Errorf("--table: %w", err)
	}
	schema, name, ok := p.Literal()
	if !ok {
		return req, fmt.Errorf("--table %q: name one table, without *", table)
	}
	if _, ok := cat.Table(schema, name); !ok {
		var names []string
		for _, t := range cat.Tables() {
			names = append(names, t.Schema+"."+t.Table)
		}
		return req, fmt.Errorf("--table: %s.%s is not published by %q (published: %s)", schema, name, cfg.Source.Publication, strings.Join(names, ", "))
	}
	if sink != "" {
		found := false
		var names []string
		for _, s := range cfg.Sinks {
			names = append(names, s.Name)
			found = found || s.Name == sink
		}
		if !found {
			return req, fmt.Errorf("--sink: no sink named %q in the config (sinks: %s)", sink, strings.Join(names, ", "))
		}
	}
	if len(where) > 0 {
		f, err := transform.NewFilter(transform.FilterSpec{Tables: []string{table}, Where: where})
		if err != nil {
			return req, fmt.Errorf("--where: %w", err)
		}
		if _, err := f.CheckConfig(pipeline.StaticCatalog{must(cat.Table(schema, name))}); err != nil {
			var tes transform.Errors
			if errors.As(err, &tes) {
				return req, fmt.Errorf("--%s", tes[0].Error())
			}
			return req, fmt.Errorf("--where: %w", err)
		}
	}
	return source.SnapshotRequest{Schema: schema, Table: name, Where: where, Sink: sink}, nil
}

func must(t pipeline.TableInfo, _ bool) pipeline.TableInfo { return t }
