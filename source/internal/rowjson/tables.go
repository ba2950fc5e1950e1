package rowjson

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// MatchingTables returns the tables (ordinary and partitioned, not
// partitions) that match the source.tables patterns, outside the system
// schemas and the schema skip.
func MatchingTables(ctx context.Context, conn *pgx.Conn, patterns []string, skip string) ([]Name, error) {
	ps := make([]transform.TablePattern, 0, len(patterns))
	for _, p := range patterns {
		tp, err := transform.ParseTablePattern(p)
		if err != nil {
			return nil, fmt.Errorf("source.tables: %w", err)
		}
		ps = append(ps, tp)
	}
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname <> $1
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
ORDER BY 1, 2`, skip)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Name, error) {
		var n Name
		return n, r.Scan(&n.Schema, &n.Table)
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []Name
	for _, n := range all {
		for _, p := range ps {
			if p.Match(n.Schema, n.Table) {
				out = append(out, n)
				break
			}
		}
	}
	return out, nil
}

// Lookup returns the raw JSON value at path (keys separated by dots) in
// the JSON object obj; false when a key is missing or a step is not an
// object.
func Lookup(obj []byte, path string) ([]byte, bool, error) {
	start, end, err := scanValue(obj, 0)
	if err != nil {
		return nil, false, err
	}
	if obj[start] != '{' || skipSpace(obj, end) != len(obj) {
		return nil, false, fmt.Errorf("want one JSON object, got %s", kindOf(obj[start]))
	}
	cur := obj
	for _, key := range strings.Split(path, ".") {
		if cur[0] != '{' {
			return nil, false, nil // a step into something that is not an object
		}
		var found []byte
		err := eachMember(cur, func(k, v []byte) error {
			if found != nil {
				return nil
			}
			name, err := unquote(k)
			if err != nil {
				return err
			}
			if string(name) == key {
				found = v
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		if found == nil {
			return nil, false, nil
		}
		cur = found
	}
	return cur, true, nil
}

// String returns the content of a JSON string value; false when raw is
// not a string.
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	s, err := unquote(raw)
	if err != nil {
		return "", false
	}
	return string(s), true
}
