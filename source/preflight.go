package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	// Err is the sentinel of what is missing (ErrSlotMissing, ...), also
	// on a finding that is not an error because run creates it.
	Err error
}

// MinServerVersion is the oldest PostgreSQL pgcdc runs against: pgoutput's
// messages option, which START_REPLICATION sets, is PostgreSQL 14's.
const MinServerVersion = 14

// Preflight checks the database for what `pgcdc run` needs with cfg: the
// server version, wal_level, the REPLICATION attribute, the slot (and the
// WAL it retains), the publication (and whether the role may create or
// complete it), and the replica identity of every published table. Fixes
// name cfg.ConfigPath. With cfg.Create a missing slot or publication is
// not an error when run can create it.
func Preflight(ctx context.Context, conn *pgx.Conn, cfg Config) ([]Finding, error) {
	p := preflight{ctx: ctx, conn: conn, cfg: cfg}
	for _, step := range []func() error{p.server, p.role, p.slot, p.publication, p.walKeep, p.identities} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return p.out, nil
}

type preflight struct {
	ctx  context.Context
	conn *pgx.Conn
	cfg  Config
	out  []Finding

	pubExists bool
}

func (p *preflight) add(f Finding) { p.out = append(p.out, f) }

func (p *preflight) server() error {
	var version int
	var walLevel string
	if err := p.conn.QueryRow(p.ctx, `SELECT current_setting('server_version_num')::int, current_setting('wal_level')`).Scan(&version, &walLevel); err != nil {
		return fmt.Errorf("read server version and wal_level: %w", err)
	}
	if version < MinServerVersion*10000 {
		p.add(Finding{Check: "server version", Severity: SevError, Err: ErrServerVersion,
			Detail: fmt.Sprintf("PostgreSQL %d.%d is too old: pgcdc needs %d or newer", version/10000, version%10000/100, MinServerVersion),
			Fix:    "upgrade PostgreSQL"})
	} else {
		p.add(Finding{Check: "server version", Severity: SevOK, Detail: fmt.Sprintf("%d", version/10000)})
	}
	if walLevel != "logical" {
		p.add(Finding{Check: "wal_level", Severity: SevError, Err: ErrWALLevel,
			Detail: fmt.Sprintf("wal_level is %q, logical replication needs logical", walLevel),
			Fix:    "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (on a managed database: its parameter for logical replication, e.g. rds.logical_replication = 1)"})
	} else {
		p.add(Finding{Check: "wal_level", Severity: SevOK, Detail: "logical"})
	}
	return nil
}

// role checks that the role may open a replication connection and create
// a slot: the REPLICATION attribute, superuser, or on Amazon RDS and
// Aurora membership of rds_replication.
func (p *preflight) role() error {
	var role string
	var repl, super, rds bool
	err := p.conn.QueryRow(p.ctx, `SELECT rolname, rolreplication, rolsuper,
  EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname = 'rds_replication' AND pg_has_role(current_user, g.oid, 'MEMBER'))
FROM pg_roles WHERE rolname = current_user`).Scan(&role, &repl, &super, &rds)
	if err != nil {
		return fmt.Errorf("read role attributes: %w", err)
	}
	switch {
	case super:
		p.add(Finding{Check: "replication role", Severity: SevOK, Detail: role + " (superuser)"})
	case repl || rds:
		p.add(Finding{Check: "replication role", Severity: SevOK, Detail: role})
	default:
		p.add(Finding{Check: "replication role", Severity: SevError, Err: ErrNoReplication,
			Detail: fmt.Sprintf("role %q lacks the REPLICATION attribute, which replication connections and slots need", role),
			Fix:    fmt.Sprintf("as a superuser: ALTER ROLE %s WITH REPLICATION; (Amazon RDS/Aurora: GRANT rds_replication TO %s;)", quoteIdent(role), quoteIdent(role))})
	}
	return nil
}

func (p *preflight) slot() error {
	var plugin, db, walStatus string
	var active bool
	var retained int64
	err := p.conn.QueryRow(p.ctx, `SELECT coalesce(plugin, ''), coalesce(database, ''), active, coalesce(wal_status, ''),
  coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END, restart_lsn), 0)::int8
FROM pg_replication_slots WHERE slot_name = $1`, p.cfg.Slot).Scan(&plugin, &db, &active, &walStatus, &retained)
	slot := p.cfg.Slot
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if p.cfg.Create {
			p.add(Finding{Check: "slot", Severity: SevOK, Err: ErrSlotMissing,
				Detail: fmt.Sprintf("replication slot %q does not exist yet: pgcdc run creates it (source.create: true)", slot)})
			return nil
		}
		p.add(Finding{Check: "slot", Severity: SevError, Err: ErrSlotMissing,
			Detail: fmt.Sprintf("replication slot %q does not exist", slot),
			Fix:    p.cfg.Command("slot create") + " (or set source.create: true)"})
	case err != nil:
		return fmt.Errorf("look up replication slot %q: %w", slot, err)
	case plugin != "pgoutput":
		p.add(Finding{Check: "slot", Severity: SevError,
			Detail: fmt.Sprintf("replication slot %q uses plugin %q, pgcdc needs pgoutput", slot, plugin),
			Fix:    "use another source.slot name, or drop this slot if nothing else uses it"})
	case db != p.conn.Config().Database:
		p.add(Finding{Check: "slot", Severity: SevError,
			Detail: fmt.Sprintf("replication slot %q belongs to database %q, not %q", slot, db, p.conn.Config().Database),
			Fix:    "connect to that database in source.dsn, or use another source.slot name"})
	case walStatus == "lost":
		p.add(Finding{Check: "slot", Severity: SevError, Err: ErrSlotLost,
			Detail: fmt.Sprintf("replication slot %q was invalidated by the server (wal_status lost): the WAL it needed was removed", slot),
			Fix:    p.cfg.slotLostFix()})
	case walStatus == "unreserved":
		p.add(Finding{Check: "slot", Severity: SevWarn,
			Detail: fmt.Sprintf("replication slot %q holds more WAL than max_slot_wal_keep_size allows (wal_status unreserved): the server invalidates it at the next checkpoint unless pgcdc catches up", slot),
			Fix:    "run pgcdc now, or raise max_slot_wal_keep_size"})
	case active:
		p.add(Finding{Check: "slot", Severity: SevWarn,
			Detail: fmt.Sprintf("replication slot %q is in use by another connection", slot),
			Fix:    "stop the other reader; pgcdc retries until the slot is free"})
	default:
		p.add(Finding{Check: "slot", Severity: SevOK, Detail: slot})
	}
	if err == nil && p.cfg.RetainedWALWarn > 0 && retained >= p.cfg.RetainedWALWarn {
		p.add(Finding{Check: "retained WAL", Severity: SevWarn,
			Detail: fmt.Sprintf("replication slot %q retains %s of WAL (source.retained_wal_warn is %s)", slot, formatBytes(retained), formatBytes(p.cfg.RetainedWALWarn)),
			Fix:    "run pgcdc so that it catches up, or drop the slot if nothing reads it: " + p.cfg.Command("slot drop")})
	}
	return nil
}

// walKeep warns when a slot may retain WAL without limit.
func (p *preflight) walKeep() error {
	var keep string
	if err := p.conn.QueryRow(p.ctx, `SELECT current_setting('max_slot_wal_keep_size')`).Scan(&keep); err != nil {
		return fmt.Errorf("read max_slot_wal_keep_size: %w", err)
	}
	if keep == "-1" {
		p.add(Finding{Check: "max_slot_wal_keep_size", Severity: SevWarn,
			Detail: "unlimited (-1): while pgcdc is stopped or behind, the slot keeps every WAL segment, until the disk is full",
			Fix:    "bound it, e.g. ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf(); (a slot past the bound is invalidated: pgcdc stops and the changes in between are lost; pgcdc_source_retained_wal_bytes and source.retained_wal_warn warn before)"})
	} else {
		p.add(Finding{Check: "max_slot_wal_keep_size", Severity: SevOK, Detail: keep})
	}
	return nil
}

func (p *preflight) publication() error {
	pub := p.cfg.Publication
	var viaRoot bool
	err := p.conn.QueryRow(p.ctx, `SELECT pubviaroot FROM pg_publication WHERE pubname = $1`, pub).Scan(&viaRoot)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("look up publication %q: %w", pub, err)
	}
	p.pubExists = err == nil
	plan, planErr := PlanPublication(p.ctx, p.conn, pub, p.cfg.Tables)
	if !p.pubExists {
		f := Finding{Check: "publication", Err: ErrPublicationMissing, Severity: SevError}
		switch problems := plan.Problems(); {
		case planErr != nil:
			f.Detail = fmt.Sprintf("publication %q does not exist, and source.tables cannot make it: %v", pub, planErr)
			f.Fix = "fix source.tables, or create the tables first"
		case len(problems) > 0:
			f.Detail = fmt.Sprintf("publication %q does not exist, and %s cannot create it: %s", pub, p.whoCreates(), strings.Join(problems, "; "))
			f.Fix = fmt.Sprintf("grant what is missing, or have a role that has it run: %s (prints %s)", p.cfg.Command("publication create --print-sql"), strings.Join(plan.Statements, "; "))
		case p.cfg.Create:
			f.Severity = SevOK
			f.Detail = fmt.Sprintf("publication %q does not exist yet: pgcdc run creates it (source.create: true) with %s", pub, strings.Join(plan.Statements, "; "))
		default:
			f.Detail = fmt.Sprintf("publication %q does not exist", pub)
			f.Fix = fmt.Sprintf("%s (runs %s), or set source.create: true", p.cfg.Command("publication create"), strings.Join(plan.Statements, "; "))
		}
		if plan.ByName && f.Severity != SevError {
			f.Detail += "; it lists the tables that exist now: run `" + p.cfg.Command("publication create") + "` again after creating a table"
		}
		p.add(f)
		return nil
	}
	p.add(Finding{Check: "publication", Severity: SevOK, Detail: pub})
	switch {
	case len(p.cfg.Tables) == 0:
		// No patterns to compare with (a library caller that made the
		// publication itself).
	case planErr != nil:
		p.add(Finding{Check: "publication tables", Severity: SevWarn, Detail: planErr.Error(), Fix: "fix source.tables"})
	case len(plan.Statements) > 0:
		f := Finding{Check: "publication tables", Severity: SevWarn,
			Detail: fmt.Sprintf("publication %q lacks what source.tables matches (%s): their changes are not streamed", pub, strings.Join(slices.Concat(plan.Schemas, plan.Tables), ", ")),
			Fix:    p.cfg.Command("publication create") + " (runs " + strings.Join(plan.Statements, "; ") + ")"}
		if problems := plan.Problems(); len(problems) > 0 {
			f.Fix = strings.Join(problems, "; ") + "; or have a role that may run: " + p.cfg.Command("publication create --print-sql")
		}
		p.add(f)
	}
	if viaRoot {
		p.add(Finding{Check: "publish_via_partition_root", Severity: SevWarn,
			Detail: fmt.Sprintf("publication %q publishes partitions as their root table: a TRUNCATE of a single partition produces no event", pub),
			Fix:    fmt.Sprintf("truncate the partitioned table, or ALTER PUBLICATION %s SET (publish_via_partition_root = false);", quoteIdent(pub))})
	}
	return nil
}

// whoCreates names who would create the publication: run or the command.
func (p *preflight) whoCreates() string {
	if p.cfg.Create {
		return "pgcdc run (source.create: true)"
	}
	return "`pgcdc publication create`"
}

func (p *preflight) identities() error {
	if !p.pubExists {
		return nil
	}
	pub := p.cfg.Publication
	rows, err := p.conn.Query(p.ctx, `SELECT quote_ident(t.schemaname) || '.' || quote_ident(t.tablename), c.relreplident::text,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident))
FROM pg_publication_tables t
JOIN pg_namespace n ON n.nspname = t.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
WHERE t.pubname = $1 ORDER BY 1`, pub)
	if err != nil {
		return fmt.Errorf("read replica identities: %w", err)
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
		return fmt.Errorf("read replica identities: %w", err)
	}
	if len(idents) == 0 {
		p.add(Finding{Check: "tables", Severity: SevWarn,
			Detail: fmt.Sprintf("publication %q publishes no table yet", pub),
			Fix:    p.cfg.Command("publication create") + " after creating the tables"})
	}
	for _, i := range idents {
		switch {
		case i.mode == "n" || (i.mode == "d" && !i.hasKey):
			p.add(Finding{Check: "replica identity " + i.table, Severity: SevWarn,
				Detail: "no replica identity: UPDATE and DELETE on this table fail while it is published, and no old values are sent",
				Fix:    fmt.Sprintf("ALTER TABLE %s REPLICA IDENTITY FULL; (or add a primary key)", i.table)})
		case i.mode == "d" || i.mode == "i":
			p.add(Finding{Check: "replica identity " + i.table, Severity: SevOK,
				Detail: "key only: updates and deletes carry only the key columns in \"before\"",
				Fix:    fmt.Sprintf("for full old rows: ALTER TABLE %s REPLICA IDENTITY FULL;", i.table)})
		default:
			p.add(Finding{Check: "replica identity " + i.table, Severity: SevOK, Detail: "full"})
		}
	}
	return nil
}

// formatBytes prints a byte count in binary units, like pg_size_pretty.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
