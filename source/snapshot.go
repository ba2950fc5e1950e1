package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgcdc/pgcdc/pipeline"
)

// This file holds the SQL side of snapshots: the progress table, the
// choice of a table's key, and reading one chunk. The method is DBLog's
// (see snapshot_coord.go for the reader side): chunks read in key order,
// each bracketed by a low and a high watermark written into the WAL.

// InternalSchema holds pgcdc's own tables: snapshot progress here, the
// trigger source's outbox. Their changes never become events.
const InternalSchema = "pgcdc"

// watermarkPrefix is the prefix of pgcdc's logical decoding messages:
// snapshot watermarks and requests.
const watermarkPrefix = "pgcdc"

// snapshotsDDL creates the progress table. One row per snapshot job: a
// table of the slot's publication, the sink it is for ("" every sink), an
// optional row filter, and how far it got. The position is the key of the
// last row of the last chunk every sink acknowledged, so a restart resumes
// after it. It lives in the database, beside the slot, because that is
// what a restarted or standby pgcdc reads first; a local file would be
// lost with the machine.
const snapshotsDDL = `CREATE SCHEMA IF NOT EXISTS pgcdc;
CREATE TABLE IF NOT EXISTS pgcdc.snapshots (
  id           text PRIMARY KEY,
  slot         text NOT NULL,
  schema_name  text NOT NULL,
  table_name   text NOT NULL,
  filter       jsonb NOT NULL DEFAULT '[]',
  sink         text NOT NULL DEFAULT '',
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  last_key     jsonb,
  chunks       int NOT NULL DEFAULT 0,
  rows         bigint NOT NULL DEFAULT 0,
  estimate     bigint,
  error        text,
  requested_at timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
)`

// EnsureSnapshotTable creates pgcdc's snapshot progress table if it does
// not exist (it needs CREATE on the database, as CREATE PUBLICATION does).
func EnsureSnapshotTable(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('pgcdc.snapshots') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("look up pgcdc.snapshots: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, snapshotsDDL); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return fmt.Errorf("create the snapshot progress table pgcdc.snapshots: %s: a snapshot keeps its progress there; as the database owner run GRANT CREATE ON DATABASE %s TO %s; (or create the schema pgcdc owned by that role)",
				pgErr.Message, quoteIdent(conn.Config().Database), quoteIdent(conn.Config().User))
		}
		return fmt.Errorf("create the snapshot progress table pgcdc.snapshots: %w", explainSQLError(err))
	}
	return nil
}

// SnapshotRequest asks for the rows of one table.
type SnapshotRequest struct {
	Schema, Table string
	// Where are row filters (ARCHITECTURE §7), ANDed: only matching rows
	// are sent.
	Where []string
	// Sink, when not empty, is the only sink that receives the rows.
	Sink string
}

// snapJob is one row of pgcdc.snapshots.
type snapJob struct {
	id            string
	schema, table string
	where         []string
	sink          string
	lastKey       []string // text forms of the key of the last confirmed row; nil: from the start
	chunks        int
	rows          int64
	estimate      int64
	state         string
	started       time.Time
	// client, when set, is the one live client of sink the job is for
	// (snapshot=true): the job is ephemeral, kept in memory only, since
	// the client does not outlive the process.
	client string
}

func (j *snapJob) ephemeral() bool { return j.client != "" }

func (j *snapJob) qualified() string { return j.schema + "." + j.table }

// RequestSnapshot records a snapshot job for the pgcdc reading slot and
// tells it through the WAL (a logical decoding message the running slot
// reader sees, so that no network path to the daemon is needed; a daemon
// that is down sees it when it starts). It returns the job's id.
func RequestSnapshot(ctx context.Context, conn *pgx.Conn, slot string, req SnapshotRequest) (string, error) {
	if err := EnsureSnapshotTable(ctx, conn); err != nil {
		return "", err
	}
	id := newSnapshotID()
	where, _ := json.Marshal(append([]string{}, req.Where...))
	if _, err := conn.Exec(ctx, `INSERT INTO pgcdc.snapshots (id, slot, schema_name, table_name, filter, sink) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, slot, req.Schema, req.Table, string(where), req.Sink); err != nil {
		return "", fmt.Errorf("record snapshot request: %w", explainSQLError(err))
	}
	if err := emitMessage(ctx, conn, watermark{Kind: wmRequest, Slot: slot, Job: id}); err != nil {
		return "", err
	}
	return id, nil
}

// SnapshotStatus is a job as pgcdc snapshot --wait reports it.
type SnapshotStatus struct {
	ID, Table, Sink, State, Error string
	Chunks                        int
	Rows, Estimate                int64
}

// LookupSnapshot reads a job's progress.
func LookupSnapshot(ctx context.Context, conn *pgx.Conn, id string) (SnapshotStatus, error) {
	var s SnapshotStatus
	var schema, table string
	err := conn.QueryRow(ctx, `SELECT id, schema_name, table_name, sink, state, coalesce(error, ''), chunks, rows, coalesce(estimate, 0)
FROM pgcdc.snapshots WHERE id = $1`, id).Scan(&s.ID, &schema, &table, &s.Sink, &s.State, &s.Error, &s.Chunks, &s.Rows, &s.Estimate)
	if err != nil {
		return s, fmt.Errorf("look up snapshot %s: %w", id, err)
	}
	s.Table = schema + "." + table
	return s, nil
}

func newSnapshotID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// initialJobID names the initial snapshot of a table for a slot: one per
// slot and table, so that it runs once.
func initialJobID(slot, schema, table string) string {
	return "initial:" + slot + ":" + schema + "." + table
}

// addInitialJobs records an initial snapshot job for each table that has
// none yet for slot.
func addInitialJobs(ctx context.Context, conn *pgx.Conn, slot string, tables []pipeline.TableInfo) (int, error) {
	added := 0
	for _, t := range tables {
		tag, err := conn.Exec(ctx, `INSERT INTO pgcdc.snapshots (id, slot, schema_name, table_name) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
			initialJobID(slot, t.Schema, t.Table), slot, t.Schema, t.Table)
		if err != nil {
			return added, fmt.Errorf("record initial snapshot of %s.%s: %w", t.Schema, t.Table, explainSQLError(err))
		}
		added += int(tag.RowsAffected())
	}
	return added, nil
}

// loadJobs returns slot's jobs that are not finished, oldest first.
func loadJobs(ctx context.Context, conn *pgx.Conn, slot string) ([]*snapJob, error) {
	rows, err := conn.Query(ctx, `SELECT id, schema_name, table_name, filter::text, sink, coalesce(last_key::text, ''), chunks, rows, state
FROM pgcdc.snapshots WHERE slot = $1 AND state IN ('pending', 'running') ORDER BY requested_at, id`, slot)
	if err != nil {
		return nil, fmt.Errorf("read snapshot jobs: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*snapJob, error) {
		j := &snapJob{}
		var where, last string
		if err := r.Scan(&j.id, &j.schema, &j.table, &where, &j.sink, &last, &j.chunks, &j.rows, &j.state); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(where), &j.where); err != nil {
			return nil, fmt.Errorf("snapshot %s: filter: %w", j.id, err)
		}
		if last != "" {
			if err := json.Unmarshal([]byte(last), &j.lastKey); err != nil {
				return nil, fmt.Errorf("snapshot %s: last_key: %w", j.id, err)
			}
		}
		return j, nil
	})
}

// saveProgress records that every chunk up to lastKey is acknowledged.
func saveProgress(ctx context.Context, conn *pgx.Conn, id string, lastKey []string, chunks int, rows int64) error {
	key, _ := json.Marshal(lastKey)
	_, err := conn.Exec(ctx, `UPDATE pgcdc.snapshots SET last_key = $2, chunks = $3, rows = $4, state = 'running',
  started_at = coalesce(started_at, now()) WHERE id = $1`, id, string(key), chunks, rows)
	if err != nil {
		return fmt.Errorf("record snapshot progress: %w", err)
	}
	return nil
}

// finishJob records a job's end: done, or failed with the reason.
func finishJob(ctx context.Context, conn *pgx.Conn, id, state, reason string) error {
	_, err := conn.Exec(ctx, `UPDATE pgcdc.snapshots SET state = $2, error = nullif($3, ''), finished_at = now() WHERE id = $1`, id, state, reason)
	if err != nil {
		return fmt.Errorf("record snapshot end: %w", err)
	}
	return nil
}

// tablePlan is how a job reads its table: the published columns in their
// order, the key it pages by, and the published row filter.
type tablePlan struct {
	ident     string   // quoted schema.table
	cols      []string // published columns, in order
	keyCols   []string // the key chunks are read in order of
	keyIdx    []int    // their positions in cols
	keyTypes  []string // format_type of each, for the casts of the position
	rowFilter string   // the publication's row filter (PostgreSQL 15+), or ""
	eventKey  []bool   // per column: part of the events' key (the catalog's Key)
}

// ErrNoSnapshotKey reports a table a snapshot cannot page through.
var ErrNoSnapshotKey = errors.New("no primary key or unique index on NOT NULL columns")

// planTable looks up how to read schema.table of publication: its key is
// the replica identity index, else the primary key, else the smallest
// unique index on NOT NULL columns (these are what change events can be
// matched by, so a read superseded by a change is recognised).
func planTable(ctx context.Context, conn *pgx.Conn, publication string, t pipeline.TableInfo) (*tablePlan, error) {
	p := &tablePlan{ident: quoteIdent(t.Schema) + "." + quoteIdent(t.Table)}
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return nil, fmt.Errorf("read server version: %w", err)
	}
	var published []string
	if version >= 150000 {
		// Column lists and row filters of the publication apply to the
		// snapshot as to the stream.
		var filter *string
		err := conn.QueryRow(ctx, `SELECT attnames, rowfilter FROM pg_publication_tables
WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`, publication, t.Schema, t.Table).Scan(&published, &filter)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("table %s.%s is not in publication %q", t.Schema, t.Table, publication)
		}
		if err != nil {
			return nil, fmt.Errorf("read the publication's columns of %s.%s: %w", t.Schema, t.Table, err)
		}
		if filter != nil {
			p.rowFilter = *filter
		}
	}
	rows, err := conn.Query(ctx, `SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum`, p.ident)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s.%s: %w", t.Schema, t.Table, err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s.%s: %w", t.Schema, t.Table, err)
	}
	for _, c := range all {
		if published == nil || containsString(published, c) {
			p.cols = append(p.cols, c)
		}
	}
	var keyCols, keyTypes []string
	err = conn.QueryRow(ctx, `SELECT array_agg(a.attname ORDER BY k.ord), array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
FROM pg_index i
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
  AND k.ord <= i.indnkeyatts
GROUP BY i.indexrelid, i.indisreplident, i.indisprimary
HAVING bool_and(a.attnotnull)
ORDER BY i.indisreplident DESC, i.indisprimary DESC, count(*), i.indexrelid
LIMIT 1`, p.ident).Scan(&keyCols, &keyTypes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("snapshot of %s.%s: %w: a snapshot reads a table in key order, in chunks; fix: ALTER TABLE %s ADD PRIMARY KEY (...); (or CREATE UNIQUE INDEX on columns that are NOT NULL)",
			t.Schema, t.Table, ErrNoSnapshotKey, p.ident)
	}
	if err != nil {
		return nil, fmt.Errorf("look up the key of %s.%s: %w", t.Schema, t.Table, err)
	}
	p.keyCols, p.keyTypes = keyCols, keyTypes
	for _, k := range keyCols {
		i := indexOf(p.cols, k)
		if i < 0 {
			return nil, fmt.Errorf("snapshot of %s.%s: key column %q is not published (the publication's column list leaves it out): publish it", t.Schema, t.Table, k)
		}
		p.keyIdx = append(p.keyIdx, i)
	}
	p.eventKey = make([]bool, len(p.cols))
	for i, c := range p.cols {
		for _, ci := range t.Columns {
			if ci.Name == c {
				p.eventKey[i] = ci.Key
			}
		}
	}
	return p, nil
}

// chunkQuery returns the query reading the rows after a key position (the
// first chunk has none), keys bound as $1..$n and the limit last.
func (p *tablePlan) chunkQuery(after bool) string { return p.selectQuery(after, false, true) }

// rangeQuery returns the query reading the rows after a key position (or
// from the start) up to and including another: a chunk read again.
func (p *tablePlan) rangeQuery(after bool) string { return p.selectQuery(after, true, false) }

// selectFrom writes "SELECT <published columns> FROM <table>".
func (p *tablePlan) selectFrom(b *strings.Builder) {
	b.WriteString("SELECT ")
	for i, c := range p.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c))
	}
	b.WriteString(" FROM ")
	b.WriteString(p.ident)
}

// keyList writes the key columns, comma-separated.
func (p *tablePlan) keyList(b *strings.Builder) {
	for i, k := range p.keyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(k))
	}
}

func (p *tablePlan) selectQuery(after, upTo, limit bool) string {
	var b strings.Builder
	p.selectFrom(&b)
	var conds []string
	if p.rowFilter != "" {
		conds = append(conds, "("+p.rowFilter+")")
	}
	n := 0
	bound := func(op string) {
		var l, r []string
		for i, k := range p.keyCols {
			n++
			l = append(l, quoteIdent(k))
			r = append(r, fmt.Sprintf("$%d::%s", n, p.keyTypes[i]))
		}
		conds = append(conds, "("+strings.Join(l, ", ")+") "+op+" ("+strings.Join(r, ", ")+")")
	}
	if after {
		bound(">")
	}
	if upTo {
		bound("<=")
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY ")
	p.keyList(&b)
	if limit {
		fmt.Fprintf(&b, " LIMIT $%d", n+1)
	}
	return b.String()
}

// keysQuery returns the query reading the rows with the given keys (a
// re-read), keys bound as $1..$n per row, rows after each other.
func (p *tablePlan) keysQuery(rows int) string {
	var b strings.Builder
	p.selectFrom(&b)
	b.WriteString(" WHERE (")
	p.keyList(&b)
	b.WriteString(") IN (")
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i := range p.keyCols {
			if i > 0 {
				b.WriteString(", ")
			}
			n++
			fmt.Fprintf(&b, "$%d::%s", n, p.keyTypes[i])
		}
		b.WriteString(")")
	}
	b.WriteString(")")
	if p.rowFilter != "" {
		b.WriteString(" AND (" + p.rowFilter + ")")
	}
	return b.String()
}

// readRow is one row read by a chunk: the row and its event key.
type readRow struct {
	after pipeline.Row
	key   pipeline.Row
}

// chunkRows is what one read returned: the rows, and each row's paging
// key in its text form (keyText, len(keyIdx) entries a row), which is the
// position the next chunk starts after, and what a re-read asks for.
type chunkRows struct {
	rows    []readRow
	keyText [][]byte
	keyIdx  []int
}

// pos returns row i's paging key as text.
func (c *chunkRows) pos(i int) [][]byte {
	n := len(c.keyIdx)
	return c.keyText[i*n : (i+1)*n]
}

// lastPos returns the last row's paging key as text (nil without rows).
func (c *chunkRows) lastPos() []string {
	if c == nil || len(c.rows) == 0 {
		return nil
	}
	var out []string
	for _, k := range c.pos(len(c.rows) - 1) {
		out = append(out, string(k))
	}
	return out
}

// matchKey returns row i's paging key as a match string (the JSON of its
// key columns), the form matchKeyOf gives a change.
func (c *chunkRows) matchKey(i int) string {
	var m []byte
	for _, ki := range c.keyIdx {
		m = append(m, c.rows[i].after[ki].Value...)
		m = append(m, 0)
	}
	return string(m)
}

// arenaSize is the size of the buffers a chunk's rows are converted into:
// rows share them (a chunk's events live and die together), so that a row
// costs no allocation of its own for its values.
const arenaSize = 256 << 10

// readRows runs query (text results, so that values are PostgreSQL's text
// output, as pgoutput sends them) and converts each row with codecs. It
// stops after maxBytes of values (at least one row), reporting cut. The
// connection runs with the replication session's settings. rowsHint is
// how many rows the query may return at most (0: unknown), so that the
// row list is made once.
func readRows(ctx context.Context, conn *pgx.Conn, p *tablePlan, codecs *typeRegistry, query string, params [][]byte, maxBytes, rowsHint int) (*chunkRows, bool, error) {
	rr := conn.PgConn().ExecParams(ctx, query, params, nil, nil, nil)
	defer rr.Close()
	fields := rr.FieldDescriptions()
	if len(fields) != len(p.cols) {
		_, err := rr.Close()
		if err == nil {
			err = fmt.Errorf("read %s: %d columns, want %d", p.ident, len(fields), len(p.cols))
		}
		return nil, false, err
	}
	convs := make([]converter, len(fields))
	for i, f := range fields {
		c, err := codecs.get(ctx, f.DataTypeOID)
		if err != nil {
			return nil, false, fmt.Errorf("read %s column %s: %w", p.ident, p.cols[i], err)
		}
		convs[i] = c
	}
	nkey := 0
	for _, k := range p.eventKey {
		if k {
			nkey++
		}
	}
	out := &chunkRows{keyIdx: p.keyIdx, rows: make([]readRow, 0, rowsHint), keyText: make([][]byte, 0, rowsHint*len(p.keyIdx))}
	var arena []byte
	var cols []pipeline.Column // rows' columns, allocated a chunk's worth at a time
	bytes, cut := 0, false
	for rr.NextRow() {
		vals := rr.Values()
		size := 0
		for i, v := range vals {
			size += encodedSize(convs[i].kind, len(v))
		}
		for _, ki := range p.keyIdx {
			size += len(vals[ki])
		}
		if cap(arena)-len(arena) < size {
			arena = make([]byte, 0, max(arenaSize, size))
		}
		if cap(cols)-len(cols) < len(vals)+nkey {
			cols = make([]pipeline.Column, 0, max(1024, len(vals)+nkey))
		}
		start := len(arena)
		row := cols[len(cols) : len(cols)+len(vals) : len(cols)+len(vals)]
		for i, v := range vals {
			if v == nil {
				arena = append(arena, "null"...)
			} else {
				arena = convs[i].encode(arena, v)
			}
			row[i] = pipeline.Column{Name: p.cols[i], Kind: convs[i].kind}
			row[i].Value = arena[start:len(arena):len(arena)]
			start = len(arena)
		}
		cols = cols[:len(cols)+len(vals)]
		key := cols[len(cols) : len(cols) : len(cols)+nkey]
		for i, isKey := range p.eventKey {
			if isKey {
				key = append(key, row[i])
			}
		}
		cols = cols[:len(cols)+nkey]
		for _, ki := range p.keyIdx {
			start := len(arena)
			arena = append(arena, vals[ki]...)
			out.keyText = append(out.keyText, arena[start:len(arena):len(arena)])
		}
		out.rows = append(out.rows, readRow{after: row, key: key})
		if bytes += size; bytes >= maxBytes {
			cut = true
			break
		}
	}
	if _, err := rr.Close(); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p.ident, err)
	}
	return out, cut, nil
}

// matchKeyOf returns the paging key of a change event's row, as readRows
// builds it from a read, or ok false when the row lacks a key column.
func matchKeyOf(keyCols []string, r pipeline.Row) (string, bool) {
	if r == nil {
		return "", false
	}
	var m strings.Builder
	for _, k := range keyCols {
		c, ok := r.Get(k)
		if !ok {
			return "", false
		}
		m.Write(c.Value)
		m.WriteByte(0)
	}
	return m.String(), true
}

func containsString(list []string, s string) bool {
	return indexOf(list, s) >= 0
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
