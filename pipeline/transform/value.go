package transform

import (
	"bytes"
	"encoding/json"
	"strings"
	"unsafe"

	"github.com/pgcdc/pgcdc/pipeline"
)

// literal is one value of a condition, parsed once at construction into
// every form a column may need.
type literal struct {
	text   string
	num    decimal
	isNum  bool
	bool   bool
	isBool bool
	time   instant
	isTime bool
	span   span
	isSpan bool
	clock  clockTime
	isClk  bool
}

func newLiteral(s string) literal {
	l := literal{text: s}
	l.num, l.isNum = parseDecimal(s)
	l.bool, l.isBool = parseBool(s)
	l.time, l.isTime = parseInstant(s)
	l.span, l.isSpan = parseInterval(s)
	l.clock, l.isClk = parseClock(s)
	return l
}

// parseBool accepts the JSON spellings true and false only.
func parseBool(s string) (v, ok bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// operand is a non-null column value, parsed as its kind once per match.
type operand struct {
	kind  pipeline.Kind
	text  string
	num   decimal
	bool  bool
	time  instant
	span  span
	clock clockTime
	ok    bool // the text parsed as kind
}

func newOperand(col pipeline.Column) operand {
	v := operand{kind: col.Kind, text: textOf(col.Value)}
	switch col.Kind {
	case pipeline.KindNumber:
		v.num, v.ok = parseDecimal(v.text)
	case pipeline.KindBool:
		v.bool, v.ok = parseBool(v.text)
	case pipeline.KindTime:
		v.time, v.ok = parseInstant(v.text)
	case pipeline.KindInterval:
		v.span, v.ok = parseInterval(v.text)
	case pipeline.KindClock:
		v.clock, v.ok = parseClock(v.text)
	}
	return v
}

// cmp compares the value with l as the column's kind when both sides parse
// as it, else as text.
func (v *operand) cmp(l *literal) int {
	if v.ok {
		switch v.kind {
		case pipeline.KindNumber:
			if l.isNum {
				return v.num.cmp(l.num)
			}
		case pipeline.KindBool:
			if l.isBool {
				return cmpInt(b2i(v.bool), b2i(l.bool))
			}
		case pipeline.KindTime:
			if l.isTime {
				return v.time.cmp(l.time)
			}
		case pipeline.KindInterval:
			if l.isSpan {
				return v.span.cmp(l.span)
			}
		case pipeline.KindClock:
			if l.isClk {
				return v.clock.cmp(l.clock)
			}
		}
	}
	return strings.Compare(v.text, l.text)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// textOf returns the text a JSON value compares as: a string's unescaped
// content, or the JSON text of any other value. For a string without
// escapes, and for every other value, it returns a view of v without
// copying: Rows are immutable (pipeline.Row), so the view stays valid, and
// callers do not retain it.
func textOf(v []byte) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return bytesView(v)
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return bytesView(inner)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return bytesView(v) // not valid JSON: compare the raw text
	}
	return s
}

func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
