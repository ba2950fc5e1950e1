package source

import (
	"context"
	"errors"
	"fmt"
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
	_, err := conn.Exec(ctx, `SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, name) // CreateSlotSQL
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

// explainSQLError adds the fix to common permission errors.
func explainSQLError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "42501": // insufficient privilege
		msg := pgErr.Message
		switch {
		case strings.Contains(msg, "must be owner of"):
			return fmt.Errorf("%s: publishing a table by name needs its ownership: ALTER TABLE <table> OWNER TO <role>; or have its owner run the statement", msg)
		case strings.Contains(msg, "must be superuser"):
			return fmt.Errorf("%s: only a superuser may publish all tables or a whole schema; list the tables in source.tables, or have a superuser run the statement", msg)
		case strings.Contains(msg, "permission denied for database"):
			return fmt.Errorf("%s: CREATE PUBLICATION needs CREATE on the database: GRANT CREATE ON DATABASE ... TO <role>;", msg)
		case strings.Contains(msg, "replication"):
			return fmt.Errorf("%w: %s: as a superuser, ALTER ROLE <role> WITH REPLICATION; (Amazon RDS/Aurora: GRANT rds_replication TO <role>;)", ErrNoReplication, msg)
		}
		return fmt.Errorf("%s (SQLSTATE %s)", msg, pgErr.Code)
	case "55000":
		if strings.Contains(pgErr.Message, "wal_level") {
			return fmt.Errorf("%w: set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL", ErrWALLevel)
		}
	}
	return fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
}

// CreateSlotSQL is the statement CreateSlot runs, for a DBA.
func CreateSlotSQL(name string) string {
	return "SELECT pg_create_logical_replication_slot(" + quoteLiteral(name) + ", 'pgoutput');"
}
