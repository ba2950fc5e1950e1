package rowjson

import (
	"bytes"
	"fmt"
	"time"
)

// A form says how row_to_json wrote a value of one type, so that its text
// output form can be recovered: row_to_json writes most types as a JSON
// string of their text output (or, for numbers, the text itself), but
// writes booleans as true/false, date-times in the XSD style, json and
// jsonb embedded, arrays as JSON arrays and composites as JSON objects
// (PostgreSQL's json.c, datum_to_json).
type form struct {
	kind   formKind
	elem   *form   // formArray
	delim  byte    // formArray: the element type's typdelim
	fields []field // formComposite, in attribute order
}

type field struct {
	name string
	form *form
}

type formKind uint8

const (
	formPlain     formKind = iota // text output as a JSON string, or a JSON number
	formBool                      // true / false
	formStamp                     // timestamp: XSD style, "T" between date and time
	formStampTZ                   // timestamptz: XSD style with "+HH:MM"
	formRaw                       // json, jsonb: embedded as they are
	formArray                     // a JSON array of the element type's values
	formComposite                 // a JSON object of the attributes
)

var (
	plainForm   = &form{kind: formPlain}
	boolForm    = &form{kind: formBool}
	stampForm   = &form{kind: formStamp}
	stampTZForm = &form{kind: formStampTZ}
	rawForm     = &form{kind: formRaw}
)

// appendText appends the text output form of the non-null JSON value raw
// to dst. raw must be valid JSON (scanValue accepted it). A value that does
// not have the form's shape is appended as its JSON text, which is still
// lossless.
func (f *form) appendText(dst, raw []byte) ([]byte, error) {
	switch f.kind {
	case formRaw:
		return append(dst, raw...), nil
	case formBool:
		switch string(raw) {
		case "true":
			return append(dst, 't'), nil
		case "false":
			return append(dst, 'f'), nil
		}
	case formArray:
		if raw[0] == '[' {
			return f.appendArray(dst, raw)
		}
	case formComposite:
		if raw[0] == '{' {
			return f.appendComposite(dst, raw)
		}
	}
	if raw[0] != '"' {
		return append(dst, raw...), nil // a number, or something unexpected
	}
	s, err := unquote(raw)
	if err != nil {
		return dst, err
	}
	switch f.kind {
	case formStamp:
		return appendStamp(dst, s, false), nil
	case formStampTZ:
		return appendStamp(dst, s, true), nil
	}
	return append(dst, s...), nil
}

// appendStamp turns row_to_json's XSD date-time ("2026-11-23T10:00:00.5",
// with "+02:00" for a timestamptz, " BC" for an era before Christ) into the
// ISO text output ("2026-11-23 10:00:00.5+02"). A timestamptz not in UTC
// (written by a session with another TimeZone) is converted to UTC when
// it falls within years 1-9999, so that it reads as the replication
// source's; "infinity" and other shapes are kept.
func appendStamp(dst, s []byte, tz bool) []byte {
	t := bytes.IndexByte(s, 'T')
	if t < 0 {
		return append(dst, s...)
	}
	if !tz {
		dst = append(dst, s[:t]...)
		dst = append(dst, ' ')
		return append(dst, s[t+1:]...)
	}
	body, era := s, []byte(nil)
	if bytes.HasSuffix(s, []byte(" BC")) {
		body, era = s[:len(s)-3], s[len(s)-3:]
	}
	off := bytes.LastIndexAny(body[t:], "+-")
	if off < 0 {
		return append(dst, s...)
	}
	off += t
	zone := body[off:]
	if era == nil && !isZeroOffset(zone) {
		if u, ok := toUTC(body); ok {
			return append(dst, u...)
		}
	}
	dst = append(dst, body[:t]...)
	dst = append(dst, ' ')
	dst = append(dst, body[t+1:off]...)
	dst = appendISOOffset(dst, zone)
	return append(dst, era...)
}

func isZeroOffset(z []byte) bool {
	for _, c := range z[1:] {
		if c != '0' && c != ':' {
			return false
		}
	}
	return true
}

// appendISOOffset writes an XSD offset (+HH:MM or +HH:MM:SS) the way the
// ISO DateStyle does: +HH, +HH:MM when the minutes are not zero, and the
// seconds when they are not zero.
func appendISOOffset(dst, z []byte) []byte {
	if len(z) == 6 && z[3] == ':' && z[4] == '0' && z[5] == '0' {
		return append(dst, z[:3]...)
	}
	return append(dst, z...)
}

var xsdLayouts = []string{"2006-01-02T15:04:05.999999-07:00", "2006-01-02T15:04:05.999999-07:00:00"}

// toUTC converts an XSD timestamptz with a non-zero offset to the ISO text
// of the same instant in UTC.
func toUTC(s []byte) ([]byte, bool) {
	for _, layout := range xsdLayouts {
		if t, err := time.Parse(layout, string(s)); err == nil {
			u := t.UTC()
			if u.Year() < 1 || u.Year() > 9999 {
				return nil, false
			}
			return u.AppendFormat(nil, "2006-01-02 15:04:05.999999+00"), true
		}
	}
	return nil, false
}

// appendArray writes a JSON array as an array literal ({1,2}, {{1,2},{3,4}},
// {"a b",NULL}), quoting elements as array_out does.
func (f *form) appendArray(dst, raw []byte) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	var elem []byte
	err := eachElement(raw, func(v []byte) error {
		if !first {
			dst = append(dst, f.delim)
		}
		first = false
		switch {
		case v[0] == 'n':
			dst = append(dst, "NULL"...)
			return nil
		case v[0] == '[' && f.elem.kind != formRaw:
			// A sub-array of a multi-dimensional array.
			var err error
			dst, err = f.appendArray(dst, v)
			return err
		}
		var err error
		elem, err = f.elem.appendText(elem[:0], v)
		if err != nil {
			return err
		}
		dst = appendQuoted(dst, elem, arrayNeedsQuote(elem, f.delim))
		return nil
	})
	return append(dst, '}'), err
}

func arrayNeedsQuote(s []byte, delim byte) bool {
	if len(s) == 0 || (len(s) == 4 && bytes.EqualFold(s, []byte("NULL"))) {
		return true
	}
	for _, c := range s {
		if c == '"' || c == '\\' || c == '{' || c == '}' || c == delim || isSpace(c) {
			return true
		}
	}
	return false
}

// appendComposite writes a JSON object as a record literal (1,"a b",,)
// with the attributes in order, quoting as record_out does.
func (f *form) appendComposite(dst, raw []byte) ([]byte, error) {
	vals := make([][]byte, len(f.fields))
	err := eachMember(raw, func(k, v []byte) error {
		name, err := unquote(k)
		if err != nil {
			return err
		}
		for i, fl := range f.fields {
			if fl.name == string(name) {
				vals[i] = v
				return nil
			}
		}
		return fmt.Errorf("composite value has attribute %q its type lacks", name)
	})
	if err != nil {
		return dst, err
	}
	dst = append(dst, '(')
	var text []byte
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		if v == nil || v[0] == 'n' {
			continue // NULL: nothing between the commas
		}
		if text, err = f.fields[i].form.appendText(text[:0], v); err != nil {
			return dst, err
		}
		dst = appendRecordField(dst, text)
	}
	return append(dst, ')'), nil
}

func appendRecordField(dst, s []byte) []byte {
	quote := len(s) == 0
	for _, c := range s {
		if c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' || isSpace(c) {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			dst = append(dst, c) // record_out doubles them
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// appendQuoted writes an array element, quoted with backslash escapes when
// quote is set (array_out).
func appendQuoted(dst, s []byte, quote bool) []byte {
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// isSpace is PostgreSQL's scanner_isspace (array_isspace, record_out).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
