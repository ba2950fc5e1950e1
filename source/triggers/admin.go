package triggers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/source/internal/rowjson"
)

// MatchingTables returns the tables (ordinary and partitioned, not
// partitions: a partitioned table's row triggers reach its partitions)
// that match the source.tables patterns, outside the system schemas and
// pgcdc's own.
func (o Objects) MatchingTables(ctx context.Context, conn *pgx.Conn, patterns []string) ([]Table, error) {
	names, err := rowjson.MatchingTables(ctx, conn, patterns, o.schema())
	if err != nil {
		return nil, err
	}
	out := make([]Table, len(names))
	for i, n := range names {
		out[i] = Table{Schema: n.Schema, Name: n.Table}
	}
	return out, nil
}

// CapturedTables returns the tables that have the capture trigger (not the
// copies PostgreSQL keeps on partitions).
func (o Objects) CapturedTables(ctx context.Context, conn *pgx.Conn) ([]Table, error) {
	rows, err := conn.Query(ctx, `SELECT DISTINCT n.nspname, c.relname FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgname = ANY($1) AND t.tgparentid = 0 AND NOT t.tgisinternal
ORDER BY 1, 2`, []string{o.captureTrigger(), o.truncateTrigger(), o.wakeTrigger()})
	if err != nil {
		return nil, fmt.Errorf("list captured tables: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Table, error) {
		var t Table
		return t, r.Scan(&t.Schema, &t.Name)
	})
}

// Install creates the outbox, the functions and the triggers on every
// table matching patterns, and returns those tables and the SQL it ran. It
// is idempotent. It needs CREATE on the database (for the schema, unless
// it exists and the role may create in it) and the TRIGGER privilege on
// every table.
func (o Objects) Install(ctx context.Context, conn *pgx.Conn, patterns []string, wake bool) ([]Table, string, error) {
	tables, err := o.MatchingTables(ctx, conn, patterns)
	if err != nil {
		return nil, "", err
	}
	if len(tables) == 0 {
		return nil, "", fmt.Errorf("no table matches source.tables %q: create the tables first, or fix the patterns", patterns)
	}
	stmt := o.InstallSQL(tables, wake)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return tables, stmt, fmt.Errorf("install the triggers: %w", explain(err))
	}
	return tables, stmt, nil
}

// ErrBacklog refuses to uninstall an outbox that still holds changes.
var ErrBacklog = errors.New("the outbox still holds changes no sink has acknowledged")

// Uninstall drops the triggers from every captured table, the functions,
// the outbox and the schema. It refuses while the outbox holds rows unless
// force is set (they would be lost). Dropping a trigger needs ownership of
// its table. It returns the tables it uncaptured and the SQL.
func (o Objects) Uninstall(ctx context.Context, conn *pgx.Conn, force bool) ([]Table, string, error) {
	tables, err := o.CapturedTables(ctx, conn)
	if err != nil {
		return nil, "", err
	}
	var rows int64
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, o.Outbox()).Scan(&exists); err != nil {
		return nil, "", fmt.Errorf("look up %s: %w", o.OutboxName(), err)
	}
	if exists {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+o.Outbox()).Scan(&rows); err != nil {
			return nil, "", fmt.Errorf("count the rows of %s: %w", o.OutboxName(), err)
		}
	}
	if rows > 0 && !force {
		return nil, "", fmt.Errorf("%w (%d rows in %s): let pgcdc run deliver them first, or pass --force to drop them", ErrBacklog, rows, o.OutboxName())
	}
	stmt := o.UninstallSQL(tables)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return tables, stmt, fmt.Errorf("uninstall the triggers: %w", explain(err))
	}
	return tables, stmt, nil
}

// TableStatus is one table's triggers: "enabled", "disabled" or "missing".
type TableStatus struct {
	Table
	Matched                 bool // matches source.tables
	Capture, Truncate, Wake string
}

// Captured reports whether the table's changes reach the outbox.
func (t TableStatus) Captured() bool { return t.Capture == "enabled" && t.Truncate == "enabled" }

// Status is what `pgcdc triggers status` shows.
type Status struct {
	Installed    bool // the outbox exists
	Tables       []TableStatus
	Rows         int64         // in the outbox: not yet acknowledged by every sink
	Transactions int64         // distinct transactions among them
	Oldest       time.Duration // age of the oldest row; 0 when empty
	HeldBack     int64         // rows of transactions not yet below the snapshot's xmin
	Relay        *Relay        // the relay holding the outbox lock, if any
}

// Relay is the session holding an outbox's lock.
type Relay struct {
	PID         int
	Application string
	Client      string
	Since       time.Time
}

// Status reports the triggers of every table matching patterns or
// captured now, the outbox's backlog and the relay working on it.
func (o Objects) Status(ctx context.Context, conn *pgx.Conn, patterns []string) (*Status, error) {
	st := &Status{}
	matched, err := o.MatchingTables(ctx, conn, patterns)
	if err != nil {
		return nil, err
	}
	captured, err := o.CapturedTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	seen := map[Table]bool{}
	for _, t := range matched {
		seen[t] = true
	}
	all := append([]Table(nil), matched...)
	for _, t := range captured {
		if !seen[t] {
			all = append(all, t)
		}
	}
	for _, t := range all {
		ts := TableStatus{Table: t, Matched: seen[t]}
		for _, x := range []struct {
			name string
			into *string
		}{{o.captureTrigger(), &ts.Capture}, {o.truncateTrigger(), &ts.Truncate}, {o.wakeTrigger(), &ts.Wake}} {
			var enabled string
			err := conn.QueryRow(ctx, `SELECT t.tgenabled::text FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3`, t.Schema, t.Name, x.name).Scan(&enabled)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				*x.into = "missing"
			case err != nil:
				return nil, fmt.Errorf("look up the triggers of %s: %w", t, err)
			case enabled == "D":
				*x.into = "disabled"
			default:
				*x.into = "enabled"
			}
		}
		st.Tables = append(st.Tables, ts)
	}
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, o.Outbox()).Scan(&st.Installed); err != nil {
		return nil, fmt.Errorf("look up %s: %w", o.OutboxName(), err)
	}
	if !st.Installed {
		return st, nil
	}
	var oldest float64
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT xid), coalesce(extract(epoch FROM now() - min(captured)), 0)::float8,
  count(*) FILTER (WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())) FROM `+o.Outbox()).Scan(&st.Rows, &st.Transactions, &oldest, &st.HeldBack); err != nil {
		return nil, fmt.Errorf("read the backlog of %s: %w", o.OutboxName(), err)
	}
	st.Oldest = time.Duration(oldest * float64(time.Second))
	var r Relay
	err = conn.QueryRow(ctx, `SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'), coalesce(a.backend_start, now())
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = ((`+o.lockKey()+` >> 32) & 4294967295)::oid AND l.objid = (`+o.lockKey()+` & 4294967295)::oid`).Scan(&r.PID, &r.Application, &r.Client, &r.Since)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("look up the relay lock: %w", err)
	default:
		st.Relay = &r
	}
	return st, nil
}
