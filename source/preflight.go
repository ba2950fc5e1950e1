package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Severity ranks a preflight finding.
type Severity string

// Severities.
const (
	SevError Severity = "error" // pgcdc run would fail
	SevWarn  Severity = "warn"  // it runs, but something will surprise you
	SevOK    Severity = "ok"
)

// Finding is one preflight result: what was checked, what was found, and
// the command or SQL that fixes it.
type Finding struct {
	Check    string
	Severity Severity
	Detail   string
	Fix      string
	Err      error // the sentinel, for SevError findings that have one
}

// Preflight checks the database for what `pgcdc run` needs: wal_level,
// the REPLICATION attribute, the slot, the publication, and the replica
// identity of every published table.
func Preflight(ctx context.Context, conn *pgx.Conn, slot, publication string) ([]Finding, error) {
	var out []Finding
	add := func(f Finding) { out = append(out, f) }

	var walLevel string
	if err := conn.QueryRow(ctx, `SELECT current_setting('wal_level')`).Scan(&walLevel); err != nil {
		return nil, fmt.Errorf("read wal_level: %w", err)
	}
	if walLevel != "logical" {
		add(Finding{Check: "wal_level", Severity: SevError, Err: ErrWALLevel,
			Detail: fmt.Sprintf("wal_level is %q, logical replication needs logical", walLevel),
			Fix:    "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL"})
	} else {
		add(Finding{Check: "wal_level", Severity: SevOK, Detail: "logical"})
	}

	var role string
	var repl, super bool
	if err := conn.QueryRow(ctx, `SELECT rolname, rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&role, &repl, &super); err != nil {
		return nil, fmt.Errorf("read role attributes: %w", err)
	}
	if !repl && !super {
		add(Finding{Check: "replication role", Severity: SevError, Err: ErrNoReplication,
			Detail: fmt.Sprintf("role %q lacks the REPLICATION attribute", role),
			Fix:    fmt.Sprintf("ALTER ROLE %s WITH REPLICATION;", quoteIdent(role))})
	} else {
		add(Finding{Check: "replication role", Severity: SevOK, Detail: role})
	}

	var plugin, db string
	var active bool
	err := conn.QueryRow(ctx, `SELECT coalesce(plugin, ''), coalesce(database, ''), active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&plugin, &db, &active)
	switch {
	case err == pgx.ErrNoRows:
		add(Finding{Check: "slot", Severity: SevError, Err: ErrSlotMissing,
			Detail: fmt.Sprintf("replication slot %q does not exist", slot),
			Fix:    "pgcdc slot create -c pipeline.yaml (or set source.create: true)"})
	case err != nil:
		return nil, fmt.Errorf("look up replication slot %q: %w", slot, err)
	case plugin != "pgoutput":
		add(Finding{Check: "slot", Severity: SevError,
			Detail: fmt.Sprintf("replication slot %q uses plugin %q, pgcdc needs pgoutput", slot, plugin),
			Fix:    "use another source.slot name, or drop this slot if nothing else uses it"})
	case db != conn.Config().Database:
		add(Finding{Check: "slot", Severity: SevError,
			Detail: fmt.Sprintf("replication slot %q belongs to database %q, not %q", slot, db, conn.Config().Database),
			Fix:    "connect to that database in source.dsn, or use another source.slot name"})
	case active:
		add(Finding{Check: "slot", Severity: SevWarn,
			Detail: fmt.Sprintf("replication slot %q is in use by another connection", slot),
			Fix:    "stop the other reader; pgcdc retries until the slot is free"})
	default:
		add(Finding{Check: "slot", Severity: SevOK, Detail: slot})
	}

	var pubExists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, publication).Scan(&pubExists); err != nil {
		return nil, fmt.Errorf("look up publication %q: %w", publication, err)
	}
	if !pubExists {
		add(Finding{Check: "publication", Severity: SevError, Err: ErrPublicationMissing,
			Detail: fmt.Sprintf("publication %q does not exist", publication),
			Fix:    "pgcdc publication create -c pipeline.yaml (or set source.create: true)"})
		return out, nil
	}
	add(Finding{Check: "publication", Severity: SevOK, Detail: publication})

	rows, err := conn.Query(ctx, `SELECT quote_ident(t.schemaname) || '.' || quote_ident(t.tablename), c.relreplident::text,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident))
FROM pg_publication_tables t
JOIN pg_namespace n ON n.nspname = t.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
WHERE t.pubname = $1 ORDER BY 1`, publication)
	if err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	type ident struct {
		table, mode string
		hasKey      bool
	}
	idents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ident, error) {
		var i ident
		return i, r.Scan(&i.table, &i.mode, &i.hasKey)
	})
	if err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	if len(idents) == 0 {
		add(Finding{Check: "tables", Severity: SevWarn,
			Detail: fmt.Sprintf("publication %q publishes no table yet", publication),
			Fix:    fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE ...;", quoteIdent(publication))})
	}
	for _, i := range idents {
		switch {
		case i.mode == "n" || (i.mode == "d" && !i.hasKey):
			add(Finding{Check: "replica identity " + i.table, Severity: SevWarn,
				Detail: "no replica identity: UPDATE and DELETE on this table fail while it is published, and no old values are sent",
				Fix:    fmt.Sprintf("ALTER TABLE %s REPLICA IDENTITY FULL; (or add a primary key)", i.table)})
		case i.mode == "d" || i.mode == "i":
			add(Finding{Check: "replica identity " + i.table, Severity: SevOK,
				Detail: "key only: updates and deletes carry only the key columns in \"before\"",
				Fix:    fmt.Sprintf("for full old rows: ALTER TABLE %s REPLICA IDENTITY FULL;", i.table)})
		default:
			add(Finding{Check: "replica identity " + i.table, Severity: SevOK, Detail: "full"})
		}
	}
	return out, nil
}
