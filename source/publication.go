package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// PublicationPlan is what `pgcdc publication create` does to make the
// publication hold what source.tables matches, for the role it connects
// as. A superuser gets FOR ALL TABLES for "*" and FOR TABLES IN SCHEMA for
// "schema.*" (PostgreSQL 15+), which include tables created later; any
// other role (there is no superuser on managed databases) gets the
// matching tables by name, which needs the ownership of each table.
//
// For an existing publication the plan adds the matching tables it lacks
// (ALTER PUBLICATION ... ADD TABLE), so running `publication create`
// again is how a table created later joins a publication of listed
// tables. It never removes a table.
type PublicationPlan struct {
	Name string
	// Exists: the publication exists; AllTables: it is FOR ALL TABLES.
	Exists, AllTables bool
	// Statements make the publication complete, in order; none when
	// nothing is missing.
	Statements []string
	// Tables are the tables (schema.table, quoted as needed) that the
	// statements publish by name, Schemas the schemas they publish whole.
	Tables, Schemas []string
	// ByName is set when a "*" or "schema.*" pattern was resolved to the
	// tables that exist now: tables created later need `publication
	// create` again.
	ByName bool

	// What the role lacks to run Statements (see Problems).
	role       string
	superuser  bool
	createOnDB bool     // CREATE on the database, for CREATE PUBLICATION
	ownsPub    bool     // ownership of the existing publication, for ALTER
	notOwned   []string // tables of Tables the role does not own
	database   string
}

// candidate is a table source.tables may publish.
type candidate struct {
	oid        uint32
	schema     string
	name       string
	ancestors  []uint32 // partitioned tables above a partition
	owned      bool
	quotedName string
}

// PlanPublication works out what CreatePublication would run, without
// running it. patterns are source.tables (the filter grammar's table
// patterns, transform.ParseTablePattern).
func PlanPublication(ctx context.Context, conn *pgx.Conn, name string, patterns []string) (PublicationPlan, error) {
	plan := PublicationPlan{Name: name}
	if len(patterns) == 0 {
		return plan, errors.New("source.tables is empty: list the tables to publish")
	}
	pats := make([]transform.TablePattern, len(patterns))
	for i, s := range patterns {
		p, err := transform.ParseTablePattern(s)
		if err != nil {
			return plan, fmt.Errorf("source.tables[%d]: %w", i, err)
		}
		pats[i] = p
	}
	var version int
	var pubOID uint32
	err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, r.rolname, r.rolsuper,
  has_database_privilege(current_database(), 'CREATE'), current_database(),
  coalesce(p.oid, 0), coalesce(p.puballtables, false), coalesce(pg_has_role(p.pubowner, 'USAGE'), false)
FROM pg_roles r LEFT JOIN pg_publication p ON p.pubname = $1
WHERE r.rolname = current_user`, name).Scan(&version, &plan.role, &plan.superuser, &plan.createOnDB, &plan.database,
		&pubOID, &plan.AllTables, &plan.ownsPub)
	if err != nil {
		return plan, fmt.Errorf("look up role and publication %q: %w", name, err)
	}
	plan.Exists = pubOID != 0
	if plan.AllTables {
		return plan, nil
	}
	tables, err := candidates(ctx, conn)
	if err != nil {
		return plan, err
	}
	published := map[uint32]bool{}
	pubSchemas := map[string]bool{}
	if plan.Exists {
		if published, pubSchemas, err = publicationMembers(ctx, conn, pubOID, version); err != nil {
			return plan, err
		}
	}
	isPublished := func(t candidate) bool {
		if published[t.oid] || pubSchemas[t.schema] {
			return true
		}
		return slices.ContainsFunc(t.ancestors, func(a uint32) bool { return published[a] })
	}

	// A superuser publishes "*" and "schema.*" whole, future tables too.
	whole := plan.superuser && version >= 150000
	var schemas []string
	for _, p := range pats {
		if p.All() && plan.superuser && !plan.Exists {
			plan.Statements = []string{"CREATE PUBLICATION " + quoteIdent(name) + " FOR ALL TABLES"}
			return plan, nil
		}
		if s, ok := p.WholeSchema(); ok && whole {
			schemas = append(schemas, s)
		} else if ok || p.All() {
			plan.ByName = true
		}
	}
	newSchemas := slices.DeleteFunc(slices.Clone(schemas), func(s string) bool { return pubSchemas[s] })

	matched := map[uint32]bool{}
	for i, p := range pats {
		n := 0
		for _, t := range tables {
			if p.Match(t.schema, t.name) {
				matched[t.oid] = true
				n++
			}
		}
		if _, ok := p.WholeSchema(); n == 0 && !(ok && whole) {
			return plan, fmt.Errorf("source.tables[%d] %q matches no table: create the table first or fix source.tables", i, patterns[i])
		}
	}
	for _, t := range tables {
		switch {
		case !matched[t.oid] || isPublished(t) || slices.Contains(schemas, t.schema):
		case slices.ContainsFunc(t.ancestors, func(a uint32) bool { return matched[a] }):
			// Publishing the partitioned table publishes its partitions.
		default:
			plan.Tables = append(plan.Tables, t.quotedName)
			if !t.owned && !plan.superuser {
				plan.notOwned = append(plan.notOwned, t.quotedName)
			}
		}
	}

	var parts []string
	if len(newSchemas) > 0 {
		q := make([]string, len(newSchemas))
		for i, s := range newSchemas {
			q[i] = quoteIdent(s)
		}
		slices.Sort(q)
		plan.Schemas = slices.Compact(q)
		parts = append(parts, "TABLES IN SCHEMA "+strings.Join(plan.Schemas, ", "))
	}
	if len(plan.Tables) > 0 {
		parts = append(parts, "TABLE "+strings.Join(plan.Tables, ", "))
	}
	switch {
	case len(parts) == 0 && plan.Exists:
	case len(parts) == 0:
		return plan, errors.New("source.tables matches no table: create the tables first or fix source.tables")
	case plan.Exists:
		plan.Statements = []string{"ALTER PUBLICATION " + quoteIdent(name) + " ADD " + strings.Join(parts, ", ")}
	default:
		plan.Statements = []string{"CREATE PUBLICATION " + quoteIdent(name) + " FOR " + strings.Join(parts, ", ")}
	}
	return plan, nil
}

// candidates lists the tables a publication may hold: permanent ordinary
// and partitioned tables outside the system schemas.
func candidates(ctx context.Context, conn *pgx.Conn) ([]candidate, error) {
	rows, err := conn.Query(ctx, `SELECT c.oid, n.nspname, c.relname,
  coalesce((SELECT array_agg(a.relid::oid) FROM pg_partition_ancestors(c.oid) a WHERE a.relid <> c.oid), '{}'),
  pg_has_role(c.relowner, 'USAGE'), quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var t candidate
		return t, r.Scan(&t.oid, &t.schema, &t.name, &t.ancestors, &t.owned, &t.quotedName)
	})
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// publicationMembers returns the tables (by OID) and schemas (by name) a
// publication names.
func publicationMembers(ctx context.Context, conn *pgx.Conn, pubOID uint32, version int) (rels map[uint32]bool, schemas map[string]bool, err error) {
	rels, schemas = map[uint32]bool{}, map[string]bool{}
	q := `SELECT prrelid, '' FROM pg_publication_rel WHERE prpubid = $1`
	if version >= 150000 {
		q += ` UNION ALL SELECT 0, n.nspname FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE pn.pnpubid = $1`
	}
	rows, err := conn.Query(ctx, q, pubOID)
	if err != nil {
		return nil, nil, fmt.Errorf("read publication members: %w", err)
	}
	var oid uint32
	var schema string
	_, err = pgx.ForEachRow(rows, []any{&oid, &schema}, func() error {
		if schema == "" {
			rels[oid] = true
		} else {
			schemas[schema] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read publication members: %w", err)
	}
	return rels, schemas, nil
}

// Problems names what the role lacks to run the statements, each with the
// SQL that grants it; none when it can run them.
func (p PublicationPlan) Problems() []string {
	if len(p.Statements) == 0 || p.superuser {
		return nil
	}
	var out []string
	if !p.Exists && !p.createOnDB {
		out = append(out, fmt.Sprintf("role %q lacks CREATE on database %q, which CREATE PUBLICATION needs: GRANT CREATE ON DATABASE %s TO %s;",
			p.role, p.database, quoteIdent(p.database), quoteIdent(p.role)))
	}
	if p.Exists && !p.ownsPub {
		out = append(out, fmt.Sprintf("role %q does not own publication %q, which ALTER PUBLICATION needs: ALTER PUBLICATION %s OWNER TO %s;",
			p.role, p.Name, quoteIdent(p.Name), quoteIdent(p.role)))
	}
	if len(p.notOwned) > 0 {
		out = append(out, fmt.Sprintf("role %q does not own %s; publishing a table by name needs its ownership (only a superuser may publish tables it does not own): ALTER TABLE %s OWNER TO %s;",
			p.role, strings.Join(p.notOwned, ", "), p.notOwned[0], quoteIdent(p.role)))
	}
	return out
}

// Apply runs the plan's statements in one transaction.
func (p PublicationPlan) Apply(ctx context.Context, conn *pgx.Conn) error {
	if len(p.Statements) == 0 {
		return nil
	}
	if problems := p.Problems(); len(problems) > 0 {
		return fmt.Errorf("publication %q: %s", p.Name, strings.Join(problems, "; "))
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, stmt := range p.Statements {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, explainSQLError(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publication %q: %w", p.Name, err)
	}
	return nil
}

// CreatePublication plans and applies: it creates the publication, or
// adds to an existing one the matching tables it lacks. The plan says
// what was done (no statements: nothing was missing).
func CreatePublication(ctx context.Context, conn *pgx.Conn, name string, patterns []string) (PublicationPlan, error) {
	plan, err := PlanPublication(ctx, conn, name, patterns)
	if err != nil {
		return plan, fmt.Errorf("create publication %q: %w", name, err)
	}
	return plan, plan.Apply(ctx, conn)
}
