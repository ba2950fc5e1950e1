package source

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SlotInfo is one row of `pgcdc slot list`.
type SlotInfo struct {
	Name        string
	Plugin      string
	Type        string
	Database    string
	Active      bool
	ActivePID   int32
	Confirmed   string // confirmed_flush_lsn, "" when none
	RetainedWAL string // pretty size of WAL the slot holds back
	WALStatus   string
}

// ListSlots lists every replication slot of the cluster.
func ListSlots(ctx context.Context, conn *pgx.Conn) ([]SlotInfo, error) {
	rows, err := conn.Query(ctx, `SELECT slot_name, coalesce(plugin, ''), slot_type, coalesce(database, ''),
  active, coalesce(active_pid, 0), coalesce(confirmed_flush_lsn::text, ''),
  coalesce(pg_size_pretty(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, restart_lsn)), ''),
  coalesce(wal_status, '')
FROM pg_replication_slots ORDER BY slot_name`)
	if err != nil {
		return nil, fmt.Errorf("list replication slots: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SlotInfo, error) {
		var s SlotInfo
		err := r.Scan(&s.Name, &s.Plugin, &s.Type, &s.Database, &s.Active, &s.ActivePID, &s.Confirmed, &s.RetainedWAL, &s.WALStatus)
		return s, err
	})
}

// CreateSlot creates a logical replication slot using pgoutput. It returns
// false when the slot already exists.
func CreateSlot(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	_, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, name)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create replication slot %q: %w", name, explainSQLError(err))
	}
	return true, nil
}

// DropSlot drops a replication slot. It returns false when there was none.
func DropSlot(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, name)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42704" {
		return false, nil
	}
	if errors.As(err, &pgErr) && pgErr.Code == "55006" {
		return false, fmt.Errorf("drop replication slot %q: it is in use (%s): stop the pgcdc reading it first", name, pgErr.Message)
	}
	if err != nil {
		return false, fmt.Errorf("drop replication slot %q: %w", name, explainSQLError(err))
	}
	return true, nil
}

// PublicationInfo is one row of `pgcdc publication list`.
type PublicationInfo struct {
	Name      string
	AllTables bool
	Ops       []string
	Tables    []string
}

// ListPublications lists every publication of the database.
func ListPublications(ctx context.Context, conn *pgx.Conn) ([]PublicationInfo, error) {
	rows, err := conn.Query(ctx, `SELECT p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
  coalesce((SELECT array_agg(quote_ident(t.schemaname) || '.' || quote_ident(t.tablename) ORDER BY t.schemaname, t.tablename)
            FROM pg_publication_tables t WHERE t.pubname = p.pubname), '{}')
FROM pg_publication p ORDER BY p.pubname`)
	if err != nil {
		return nil, fmt.Errorf("list publications: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PublicationInfo, error) {
		var p PublicationInfo
		var ins, upd, del, trunc bool
		if err := r.Scan(&p.Name, &p.AllTables, &ins, &upd, &del, &trunc, &p.Tables); err != nil {
			return p, err
		}
		for _, o := range []struct {
			on   bool
			name string
		}{{ins, "insert"}, {upd, "update"}, {del, "delete"}, {trunc, "truncate"}} {
			if o.on {
				p.Ops = append(p.Ops, o.name)
			}
		}
		return p, nil
	})
}

// PublicationSQL returns the CREATE PUBLICATION statement for the table
// patterns of source.tables: "*" or "*.*" publishes all tables, "schema.*"
// every table of the schema (present and future, PostgreSQL 15+; listed
// tables on older servers), other globs the matching tables that exist now.
func PublicationSQL(ctx context.Context, conn *pgx.Conn, name string, patterns []string) (string, error) {
	var schemas, tables []string
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return "", fmt.Errorf("read server version: %w", err)
	}
	for _, p := range patterns {
		schema, table, ok := strings.Cut(p, ".")
		if !ok {
			schema, table = "public", p
		}
		if p == "*" || (schema == "*" && table == "*") {
			return "CREATE PUBLICATION " + quoteIdent(name) + " FOR ALL TABLES", nil
		}
		if table == "*" && !strings.ContainsAny(schema, "*?[") && version >= 150000 {
			schemas = append(schemas, quoteIdent(schema))
			continue
		}
		rows, err := conn.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname LIKE $1 AND c.relname LIKE $2 ORDER BY 1`, globToLike(schema), globToLike(table))
		if err != nil {
			return "", fmt.Errorf("resolve table pattern %q: %w", p, err)
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", fmt.Errorf("resolve table pattern %q: %w", p, err)
		}
		if len(found) == 0 {
			return "", fmt.Errorf("table pattern %q matches no table: create the table first or fix source.tables", p)
		}
		tables = append(tables, found...)
	}
	sort.Strings(tables)
	tables = dedupe(tables)
	var parts []string
	if len(schemas) > 0 {
		sort.Strings(schemas)
		parts = append(parts, "TABLES IN SCHEMA "+strings.Join(dedupe(schemas), ", "))
	}
	if len(tables) > 0 {
		parts = append(parts, "TABLE "+strings.Join(tables, ", "))
	}
	if len(parts) == 0 {
		return "", errors.New("source.tables is empty: list the tables to publish")
	}
	return "CREATE PUBLICATION " + quoteIdent(name) + " FOR " + strings.Join(parts, ", "), nil
}

// CreatePublication creates the publication; false when it already exists.
func CreatePublication(ctx context.Context, conn *pgx.Conn, name string, patterns []string) (bool, string, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, name).Scan(&exists); err != nil {
		return false, "", fmt.Errorf("look up publication %q: %w", name, err)
	}
	if exists {
		return false, "", nil
	}
	stmt, err := PublicationSQL(ctx, conn, name, patterns)
	if err != nil {
		return false, "", fmt.Errorf("create publication %q: %w", name, err)
	}
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return false, stmt, fmt.Errorf("create publication %q: %w", name, explainSQLError(err))
	}
	return true, stmt, nil
}

// DropPublication drops the publication; false when there was none.
func DropPublication(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	tag, err := conn.Exec(ctx, `SELECT 1 FROM pg_publication WHERE pubname = $1`, name)
	if err != nil {
		return false, fmt.Errorf("look up publication %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "DROP PUBLICATION "+quoteIdent(name)); err != nil {
		return false, fmt.Errorf("drop publication %q: %w", name, explainSQLError(err))
	}
	return true, nil
}

func globToLike(g string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`, `?`, `_`)
	return r.Replace(g)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// explainSQLError adds the fix to common permission errors.
func explainSQLError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "42501":
			return fmt.Errorf("%s: grant the privilege or run as the table owner / a role WITH REPLICATION", pgErr.Message)
		case "55000":
			if strings.Contains(pgErr.Message, "wal_level") {
				return fmt.Errorf("%w: set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL", ErrWALLevel)
			}
		}
		return fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	return err
}
