package nats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// DecodeEvent parses an event's JSON (ARCHITECTURE §2), as the nats sink
// wrote it, back into an Event whose Encoded bytes are the same. Column
// kinds come from cat (the slot reader's catalog) when it knows the
// table and column, else from the JSON value (number, bool, object or
// array, else string). Unknown fields are errors: a message that is not
// a pgcdc event is not silently half-read.
func DecodeEvent(body []byte, cat pipeline.Catalog) (*pipeline.Event, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := expectDelim(d, '{'); err != nil {
		return nil, err
	}
	e := &pipeline.Event{}
	var id, commitLSN string
	var key, before, after []rawColumn
	var haveID, haveOp bool
	for d.More() {
		name, err := stringToken(d)
		if err != nil {
			return nil, err
		}
		switch name {
		case "id":
			if id, err = stringToken(d); err != nil {
				return nil, fieldErr(name, err)
			}
			haveID = true
		case "op":
			s, err := stringToken(d)
			if err == nil {
				e.Op, err = pipeline.ParseOp(s)
			}
			if err != nil {
				return nil, fieldErr(name, err)
			}
			haveOp = true
		case "schema":
			if e.Schema, err = stringToken(d); err != nil {
				return nil, fieldErr(name, err)
			}
		case "table":
			if e.Table, err = stringToken(d); err != nil {
				return nil, fieldErr(name, err)
			}
		case "commit_lsn":
			if commitLSN, err = stringToken(d); err != nil {
				return nil, fieldErr(name, err)
			}
		case "xid":
			var n uint32
			if err := d.Decode(&n); err != nil {
				return nil, fieldErr(name, err)
			}
			e.XID = n
		case "commit_time":
			s, err := stringToken(d)
			if err == nil {
				e.CommitTime, err = time.Parse(time.RFC3339Nano, s)
			}
			if err != nil {
				return nil, fieldErr(name, err)
			}
			e.CommitTime = e.CommitTime.UTC()
		case "key", "before", "after":
			row, err := decodeRow(d)
			if err != nil {
				return nil, fieldErr(name, err)
			}
			switch name {
			case "key":
				key = row
			case "before":
				before = row
			default:
				after = row
			}
		case "snapshot":
			var sn struct {
				ID    *string `json:"id"`
				Chunk *int    `json:"chunk"`
				Last  *bool   `json:"last"`
			}
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return nil, fieldErr(name, err)
			}
			strict := json.NewDecoder(bytes.NewReader(raw))
			strict.DisallowUnknownFields()
			if err := strict.Decode(&sn); err != nil {
				return nil, fieldErr(name, err)
			}
			if sn.ID == nil || sn.Chunk == nil || sn.Last == nil {
				return nil, fieldErr(name, errors.New("want id, chunk and last"))
			}
			e.Snapshot = &pipeline.SnapshotInfo{ID: *sn.ID, Chunk: *sn.Chunk, Last: *sn.Last}
		case "unchanged_toast", "tables":
			var list []string
			if err := d.Decode(&list); err != nil {
				return nil, fieldErr(name, err)
			}
			if list == nil {
				list = []string{}
			}
			if name == "tables" {
				e.Tables = list
			} else {
				e.UnchangedToast = list
			}
		default:
			return nil, fmt.Errorf("unknown field %q", name)
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the event's JSON object")
	}
	if !haveID || !haveOp {
		return nil, errors.New("missing id or op")
	}
	lsn, seq, err := pipeline.ParseID(id)
	if err != nil {
		return nil, fieldErr("id", err)
	}
	e.CommitLSN, e.Seq = lsn, seq
	if commitLSN != lsn.String() {
		return nil, fmt.Errorf("commit_lsn %q does not match id %q", commitLSN, id)
	}
	var table pipeline.TableInfo
	if cat != nil {
		table, _ = cat.Table(e.Schema, e.Table)
	}
	e.Key, e.Before, e.After = toRow(key, table), toRow(before, table), toRow(after, table)
	if e.Op == pipeline.OpTruncate {
		if e.Tables == nil {
			e.Tables = []string{}
		}
		if key != nil || before != nil || after != nil {
			return nil, errors.New("a truncate event carries no key, before or after")
		}
	} else if e.Tables != nil {
		return nil, fmt.Errorf("a %s event carries no tables", e.Op)
	}
	return e, nil
}

type rawColumn struct {
	name  string
	value []byte
}

func fieldErr(name string, err error) error { return fmt.Errorf("field %q: %w", name, err) }

func expectDelim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return fmt.Errorf("not an event's JSON: %w", err)
	}
	if t != want {
		return fmt.Errorf("not an event's JSON: want %q, got %v", want, t)
	}
	return nil
}

func stringToken(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %v", t)
	}
	return s, nil
}

// decodeRow reads a JSON object in key order, or null (nil, no error).
// A row that is present but empty is a non-nil empty slice.
func decodeRow(d *json.Decoder) ([]rawColumn, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("want an object or null, got %v", t)
	}
	row := []rawColumn{}
	for d.More() {
		name, err := stringToken(d)
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("column %q: %w", name, err)
		}
		row = append(row, rawColumn{name: name, value: buf.Bytes()})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	return row, nil
}

// toRow gives each column its kind: the catalog's, else one guessed from
// the JSON value.
func toRow(cols []rawColumn, t pipeline.TableInfo) pipeline.Row {
	if cols == nil {
		return nil
	}
	row := make(pipeline.Row, len(cols))
	for i, c := range cols {
		row[i] = pipeline.Column{Name: c.name, Kind: kindOf(c, t), Value: c.value}
	}
	return row
}

func kindOf(c rawColumn, t pipeline.TableInfo) pipeline.Kind {
	for _, ci := range t.Columns {
		if ci.Name == c.name {
			return ci.Kind
		}
	}
	switch v := c.value; {
	case len(v) == 0:
		return pipeline.KindString
	case v[0] == '{' || v[0] == '[':
		return pipeline.KindJSON
	case v[0] == 't' || v[0] == 'f':
		return pipeline.KindBool
	case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		return pipeline.KindNumber
	}
	return pipeline.KindString
}
