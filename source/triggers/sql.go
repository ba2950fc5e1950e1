package triggers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/source"
)

// Objects names what pgcdc owns in the database for one outbox: the schema
// holding the outbox table and the trigger functions, the triggers on each
// captured table, and the NOTIFY channel that wakes the relay.
type Objects struct {
	Schema string // default "pgcdc"
}

// DefaultSchema is the schema pgcdc's objects live in unless configured.
const DefaultSchema = "pgcdc"

func (o Objects) schema() string {
	if o.Schema == "" {
		return DefaultSchema
	}
	return o.Schema
}

// Outbox is the outbox table's qualified, quoted name.
func (o Objects) Outbox() string { return ident(o.schema()) + ".outbox" }

// OutboxName is the outbox table's qualified name unquoted, for messages.
func (o Objects) OutboxName() string { return o.schema() + ".outbox" }

// Channel is the NOTIFY channel the wake-up trigger signals.
func (o Objects) Channel() string { return o.schema() + "_outbox" }

// trigger names on each captured table.
func (o Objects) captureTrigger() string  { return o.schema() + "_capture" }
func (o Objects) truncateTrigger() string { return o.schema() + "_truncate" }
func (o Objects) wakeTrigger() string     { return o.schema() + "_wake" }

func (o Objects) fn(name string) string { return ident(o.schema()) + "." + name + "()" }

// lockKey is the advisory lock a relay holds while it works on the outbox:
// derived from the outbox's name, so that relays of different outboxes do
// not exclude each other.
func (o Objects) lockKey() string {
	return fmt.Sprintf("hashtextextended(%s, 0)", literal("pgcdc relay "+o.OutboxName()))
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Table is a table to capture.
type Table struct{ Schema, Name string }

func (t Table) String() string { return t.Schema + "." + t.Name }
func (t Table) quoted() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// settingsClause pins, for the duration of the capture function only, the
// settings under which the replication source reads values, so that
// row_to_json writes them as pgoutput would whatever the writing session
// set (its TimeZone, DateStyle, IntervalStyle, extra_float_digits,
// bytea_output). PostgreSQL restores the session's values when the
// function returns.
func settingsClause() string {
	s := source.SessionSettings()
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  SET %s = %s", ident(k), literal(s[k]))
	}
	return b.String()
}

// InstallSQL returns the statements that create the schema, the outbox,
// the functions and, on every table of tables, the triggers. They are
// idempotent (IF NOT EXISTS, OR REPLACE) and run in one transaction. With
// wake false the statement triggers that NOTIFY the relay are left out (and
// dropped if present): the relay then finds changes by polling.
func (o Objects) InstallSQL(tables []Table, wake bool) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("BEGIN;\n")
	w("-- Wait at most 10 s for each table's lock: CREATE TRIGGER briefly blocks writes to the table.\n")
	w("SET LOCAL lock_timeout = '10s';\n")
	w("CREATE SCHEMA IF NOT EXISTS %s;\n", ident(o.schema()))
	w(`CREATE TABLE IF NOT EXISTS %s (
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),          -- the writing transaction
  id bigint GENERATED ALWAYS AS IDENTITY,                   -- order within it
  captured timestamptz NOT NULL DEFAULT statement_timestamp(),
  schema_name text NOT NULL,
  table_name text NOT NULL,
  op text NOT NULL,                                         -- INSERT, UPDATE, DELETE, TRUNCATE
  old_row json,                                             -- row_to_json(OLD), the whole old row
  new_row json,                                             -- row_to_json(NEW)
  PRIMARY KEY (xid, id)
);
`, o.Outbox())
	w("COMMENT ON TABLE %s IS %s;\n", o.Outbox(), literal("pgcdc outbox: changes captured by the "+o.captureTrigger()+" triggers; the relay deletes rows once every sink acknowledged them"))
	w(`CREATE OR REPLACE FUNCTION %s RETURNS trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp%s
AS $pgcdc$
BEGIN
  INSERT INTO %s (schema_name, table_name, op, old_row, new_row)
  VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP,
          CASE WHEN TG_OP <> 'INSERT' THEN row_to_json(OLD) END,
          CASE WHEN TG_OP <> 'DELETE' THEN row_to_json(NEW) END);
  RETURN NULL;
END
$pgcdc$;
`, o.fn("capture"), settingsClause(), o.Outbox())
	w(`CREATE OR REPLACE FUNCTION %s RETURNS trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $pgcdc$
BEGIN
  INSERT INTO %s (schema_name, table_name, op) VALUES (TG_TABLE_SCHEMA, TG_TABLE_NAME, 'TRUNCATE');
  RETURN NULL;
END
$pgcdc$;
`, o.fn("capture_truncate"), o.Outbox())
	w(`CREATE OR REPLACE FUNCTION %s RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $pgcdc$
BEGIN
  PERFORM pg_notify(%s, '');  -- a wake-up only: the change is in the outbox
  RETURN NULL;
END
$pgcdc$;
`, o.fn("wake"), literal(o.Channel()))
	for _, f := range []string{"capture", "capture_truncate", "wake"} {
		w("REVOKE ALL ON FUNCTION %s FROM PUBLIC;\n", o.fn(f))
	}
	for _, t := range tables {
		w("CREATE OR REPLACE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s;\n",
			ident(o.captureTrigger()), t.quoted(), o.fn("capture"))
		w("CREATE OR REPLACE TRIGGER %s AFTER TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s;\n",
			ident(o.truncateTrigger()), t.quoted(), o.fn("capture_truncate"))
		if wake {
			w("CREATE OR REPLACE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION %s;\n",
				ident(o.wakeTrigger()), t.quoted(), o.fn("wake"))
		} else {
			w("DROP TRIGGER IF EXISTS %s ON %s;\n", ident(o.wakeTrigger()), t.quoted())
		}
	}
	w("COMMIT;\n")
	return b.String()
}

// UninstallSQL returns the statements that drop the triggers on tables,
// the functions, the outbox and the schema (which must then be empty: a
// schema holding anything else is not dropped, the statement fails).
func (o Objects) UninstallSQL(tables []Table) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("BEGIN;\nSET LOCAL lock_timeout = '10s';\n")
	for _, t := range tables {
		for _, tg := range []string{o.captureTrigger(), o.truncateTrigger(), o.wakeTrigger()} {
			w("DROP TRIGGER IF EXISTS %s ON %s;\n", ident(tg), t.quoted())
		}
	}
	for _, f := range []string{"capture", "capture_truncate", "wake"} {
		w("DROP FUNCTION IF EXISTS %s;\n", o.fn(f))
	}
	w("DROP TABLE IF EXISTS %s;\n", o.Outbox())
	w("DROP SCHEMA IF EXISTS %s;\n", ident(o.schema()))
	w("COMMIT;\n")
	return b.String()
}
