package source

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/internal/pgcluster/pgclustertest"
	"github.com/pgcdc/pgcdc/pipeline"
)

// runSource prepares and runs a Source into a collector until the test
// ends.
func runSource(t *testing.T, src *Source) *collector {
	t.Helper()
	col := newCollector()
	runSourceInto(t, src, col)
	return col
}

func runSourceInto(t *testing.T, src *Source, col *collector) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, col, col) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("source.Run: %v", err)
		}
	})
}

func newTestSource(t *testing.T, cl *pgcluster.Cluster, cfg Config) *Source {
	t.Helper()
	conn, err := NewConnector(cl.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slot == "" {
		cfg.Slot, cfg.Publication, cfg.Tables, cfg.Create = "pgcdc", "pgcdc", []string{"*"}, true
	}
	src := New(conn, cfg, nil)
	if err := src.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestDroppedTypesAndTables: a user-defined type dropped while rows of it
// are still unread in the slot used to wedge the slot for good ("look up
// type: no rows in result set" on every run). Now the values convert from
// what the stream says (a domain over int4 stays a number) or as text,
// and the stream moves on. A REPLICA IDENTITY FULL table dropped before
// its changes were read keeps its primary key as the event key (from the
// catalog Prepare loaded).
func TestDroppedTypesAndTables(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	mustPsql(t, cl, `CREATE TABLE full_t (id int PRIMARY KEY, v text); ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE after_t (id int PRIMARY KEY)`)
	src := newTestSource(t, cl, Config{}) // creates the slot; knows full_t, not the types below
	mustPsql(t, cl, `CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE TABLE tmp_t (id int PRIMARY KEY, m mood, p posint, ms mood[]);
INSERT INTO tmp_t VALUES (1, 'happy', 42, '{happy,sad}');
INSERT INTO full_t VALUES (1, 'a'); UPDATE full_t SET v = 'b'; DELETE FROM full_t;
DROP TABLE tmp_t; DROP TYPE mood; DROP DOMAIN posint; DROP TABLE full_t;
INSERT INTO after_t VALUES (7)`)
	col := runSource(t, src)
	evs := col.wait(t, 5)
	if got := string(evs[0].After.AppendJSON(nil)); got != `{"id":1,"m":"happy","p":42,"ms":"{happy,sad}"}` {
		t.Errorf("row of dropped types: after = %s", got)
	}
	for i, want := range []string{`{"id":1}`, `{"id":1}`, `{"id":1}`} {
		if got := string(evs[1+i].Key.AppendJSON(nil)); got != want {
			t.Errorf("dropped FULL table, %s: key = %s, want the primary key %s", evs[1+i].Op, got, want)
		}
	}
	if evs[4].Table != "after_t" {
		t.Errorf("the stream did not move on: last event %s", evs[4].Encoded())
	}
}

// TestTruncateManyTables: one TRUNCATE of more tables than
// pipeline.batch_events is one message the decoder must split into
// several batches (it used to fail on every restart with "overflowed two
// batches"). Partitions count as tables.
func TestTruncateManyTables(t *testing.T) {
	cl := pgclustertest.Start(t, pgcluster.Options{})
	var parts []string
	for i := range 25 {
		parts = append(parts, fmt.Sprintf("CREATE TABLE p%d PARTITION OF parted FOR VALUES IN (%d);", i, i))
	}
	mustPsql(t, cl, `CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY);
CREATE TABLE parted (k int) PARTITION BY LIST (k);`+strings.Join(parts, "\n"))
	src := newTestSource(t, cl, Config{Slot: "pgcdc", Publication: "pgcdc", Tables: []string{"*"}, Create: true, BatchEvents: 1})
	mustPsql(t, cl, `TRUNCATE a, b, c; TRUNCATE parted; INSERT INTO a VALUES (1)`)
	evs := runSource(t, src).wait(t, 3+25+1)
	for i := range 3 {
		if evs[i].Op != pipeline.OpTruncate || evs[i].Seq != uint32(i) || len(evs[i].Tables) != 3 {
			t.Errorf("truncate event %d: %s", i, evs[i].Encoded())
		}
	}
	for i := 3; i < 28; i++ {
		if evs[i].Op != pipeline.OpTruncate || len(evs[i].Tables) != 25 {
			t.Errorf("partition truncate event %d: %s", i, evs[i].Encoded())
		}
	}
	if evs[28].Op != pipeline.OpInsert {
		t.Errorf("after the truncates: %s", evs[28].Encoded())
	}
}

// TestDecodeErrorPosition: a decode error names where it happened even
// when pgoutput sent the message without a WAL position (it used to say
// "at 0/0").
func TestDecodeErrorPosition(t *testing.T) {
	st := &stream{dec: newDecoder(nil, 0)}
	if got := st.where(0, 0x16B3748); got != "after 0/16B3748" {
		t.Errorf("between transactions: %q", got)
	}
	st.dec.inTxn, st.dec.xid, st.dec.commitLSN = true, 1234, 0x16B3800
	if got := st.where(0, 0x16B3748); got != "in transaction 1234 (commit 0/16B3800)" {
		t.Errorf("no WAL position inside a transaction: %q", got)
	}
	if got := st.where(0x16B3790, 0x16B3748); got != "at 0/16B3790 in transaction 1234 (commit 0/16B3800)" {
		t.Errorf("with a WAL position: %q", got)
	}
}

// wire builds pgoutput messages for decoder tests.
type wire []byte

func (w wire) u8(b byte) wire        { return append(w, b) }
func (w wire) u16(v uint16) wire     { return binary.BigEndian.AppendUint16(w, v) }
func (w wire) u32(v uint32) wire     { return binary.BigEndian.AppendUint32(w, v) }
func (w wire) u64(v uint64) wire     { return binary.BigEndian.AppendUint64(w, v) }
func (w wire) str(s string) wire     { return append(append(w, s...), 0) }
func beginMsg(final uint64) wire     { return wire{'B'}.u64(final).u64(0).u32(7) }
func commitMsg(lsn, end uint64) wire { return wire{'C'}.u8(0).u64(lsn).u64(end).u64(0) }

// relationMsg is a table with one int4 key column.
func relationMsg(id uint32, name string) wire {
	return wire{'R'}.u32(id).str("public").str(name).u8('d').u16(1).u8(1).str("id").u32(oidInt4).u32(0xffffffff)
}

// TestTruncateBatchesConfirmOnlyAtCommit: a TRUNCATE split over several
// batches carries the transaction's end only on the last batch, the one of
// the commit: a batch in the middle that carried it would let the tracker
// confirm the transaction before its last events are acknowledged.
func TestTruncateBatchesConfirmOnlyAtCommit(t *testing.T) {
	d := newDecoder(newTypeRegistry(nil), 2)
	ctx := context.Background()
	var batches []*pipeline.Batch
	truncate := wire{'T'}.u32(5).u8(0)
	for id := uint32(1); id <= 5; id++ {
		truncate = truncate.u32(id)
	}
	msgs := []wire{beginMsg(0x500)}
	for id := uint32(1); id <= 5; id++ {
		msgs = append(msgs, relationMsg(id, fmt.Sprintf("t%d", id)))
	}
	msgs = append(msgs, truncate, commitMsg(0x500, 0x528))
	for _, m := range msgs {
		out, err := d.handleData(ctx, m)
		if err != nil {
			t.Fatalf("message %c: %v", m[0], err)
		}
		batches = append(batches, out...)
	}
	if len(batches) != 3 {
		t.Fatalf("%d batches, want 3 (2 + 2 + 1 events)", len(batches))
	}
	seq := uint32(0)
	for i, b := range batches {
		if wantEnd := pipeline.LSN(0); i == len(batches)-1 {
			wantEnd = 0x528
			if b.End != wantEnd {
				t.Errorf("last batch End = %s, want the commit's end 0/528", b.End)
			}
		} else if b.End != wantEnd {
			t.Errorf("batch %d (not the commit's) has End %s: it would confirm the transaction too early", i, b.End)
		}
		for _, e := range b.Events {
			if e.Seq != seq || e.Op != pipeline.OpTruncate || len(e.Tables) != 5 {
				t.Errorf("event %d: %s", seq, e.Encoded())
			}
			seq++
		}
	}
	if seq != 5 {
		t.Errorf("%d events, want 5", seq)
	}
}

// TestLookupFailureIsRetried: a type lookup that fails because the
// database could not be asked ends the session for a reconnect (it used
// to stop run for good); a type that no longer exists is no failure.
func TestLookupFailureIsRetried(t *testing.T) {
	ctx := context.Background()
	rel := wire{'R'}.u32(1).str("public").str("t").u8('d').u16(1).u8(1).str("m").u32(99999).u32(0xffffffff)
	down := newDecoder(newTypeRegistry(func(context.Context, uint32) (typeInfo, error) {
		return typeInfo{}, errors.New("connection refused")
	}), 0)
	_, err := down.handleData(ctx, rel)
	if err == nil || !isLookup(err) || IsFatal(err) {
		t.Errorf("lookup with the database down: %v (lookup error: %v)", err, isLookup(err))
	}
	gone := newDecoder(newTypeRegistry(func(context.Context, uint32) (typeInfo, error) {
		return typeInfo{}, pgx.ErrNoRows
	}), 0)
	if _, err := gone.handleData(ctx, wire{'Y'}.u32(99999).str("public").str("mood")); err != nil {
		t.Fatal(err)
	}
	if _, err := gone.handleData(ctx, rel); err != nil {
		t.Fatalf("a dropped type: %v", err)
	}
	if c := gone.rels[1].cols[0].conv; c.kind != pipeline.KindString || c.typ != "public.mood" {
		t.Errorf("dropped enum converts as %+v, want a string named public.mood", c)
	}
}
