package rowjson

import (
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
)

// UnknownColumnError reports a member of the row's JSON that the table does
// not have (a column added since the catalog was loaded, or dropped since
// the row was captured).
type UnknownColumnError struct{ Column string }

func (e *UnknownColumnError) Error() string {
	return fmt.Sprintf("column %q is not in the catalog", e.Column)
}

// Row converts obj, a JSON object as row_to_json writes it, to an event
// row in the object's member order. With lenient set, a member the table
// does not have is kept with its JSON as it is (kind string for strings,
// else JSON); otherwise it is an *UnknownColumnError, so that the caller
// may refresh the table and try again.
func (t *Table) Row(obj []byte, lenient bool) (pipeline.Row, error) {
	n := 0
	size := 0
	if err := eachMember(obj, func(_, v []byte) error {
		n++
		size += len(v)*4/3 + 8
		return nil
	}); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size)
	row := make(pipeline.Row, 0, n)
	ends := make([]int, 0, n)
	var text []byte
	err := eachMember(obj, func(k, v []byte) error {
		name, err := unquote(k)
		if err != nil {
			return err
		}
		col := pipeline.Column{Name: string(name)}
		i, ok := t.byName[col.Name]
		switch {
		case !ok && !lenient:
			return &UnknownColumnError{Column: col.Name}
		case !ok:
			col.Kind = pipeline.KindJSON
			if v[0] == '"' {
				col.Kind = pipeline.KindString
			}
			buf = append(buf, v...)
		case v[0] == 'n':
			col.Kind = t.Cols[i].codec.Kind()
			buf = append(buf, "null"...)
		default:
			c := t.Cols[i]
			col.Kind = c.codec.Kind()
			if text, err = c.form.appendText(text[:0], v); err != nil {
				return fmt.Errorf("column %s: %w", col.Name, err)
			}
			buf = c.codec.AppendJSON(buf, text)
		}
		row = append(row, col)
		ends = append(ends, len(buf))
		return nil
	})
	if err != nil {
		return nil, err
	}
	start := 0
	for i := range row {
		row[i].Value = buf[start:ends[i]:ends[i]]
		start = ends[i]
	}
	return row, nil
}

// Key returns the key columns of row in the table's order; nil when the
// table has no key or row is nil.
func (t *Table) Key(row pipeline.Row) pipeline.Row {
	if row == nil {
		return nil
	}
	var key pipeline.Row
	for _, c := range t.Cols {
		if !c.Key {
			continue
		}
		if v, ok := row.Get(c.Name); ok {
			key = append(key, v)
		}
	}
	return key
}

// Generic converts a JSON object whose table is not known: every member is
// kept with its JSON as it is (strings as strings, numbers as numbers,
// objects and arrays embedded).
func Generic(obj []byte) (pipeline.Row, error) {
	t := &Table{byName: map[string]int{}}
	return t.Row(obj, true)
}
