package source

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/pgcdc/pgcdc/pipeline"
)

// A converter appends the JSON encoding of one value, given in PostgreSQL's
// text output format, to dst. Converters never fail: a value that does not
// have the expected shape is appended as a JSON string of its text, which is
// always lossless.
type converter struct {
	kind   pipeline.Kind
	typ    string // type name, for the catalog
	encode func(dst, text []byte) []byte
}

// Built-in type OIDs (pg_type.dat); stable across PostgreSQL versions.
const (
	oidBool        = 16
	oidBytea       = 17
	oidChar        = 18
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidXID         = 28
	oidJSON        = 114
	oidXML         = 142
	oidCIDR        = 650
	oidFloat4      = 700
	oidFloat8      = 701
	oidMoney       = 790
	oidMacaddr     = 829
	oidInet        = 869
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidTimetz      = 1266
	oidBit         = 1560
	oidVarbit      = 1562
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

var (
	convString   = converter{kind: pipeline.KindString, typ: "text", encode: appendString}
	convNumber   = converter{kind: pipeline.KindNumber, encode: appendNumber}
	convBigNum   = converter{kind: pipeline.KindNumber, encode: appendString}
	convFloat    = converter{kind: pipeline.KindNumber, encode: appendFloat}
	convBool     = converter{kind: pipeline.KindBool, typ: "bool", encode: appendBool}
	convJSON     = converter{kind: pipeline.KindJSON, encode: appendJSON}
	convBytes    = converter{kind: pipeline.KindBytes, typ: "bytea", encode: appendBytea}
	convDate     = converter{kind: pipeline.KindTime, encode: appendString}
	convClock    = converter{kind: pipeline.KindClock, encode: appendString}
	convInterval = converter{kind: pipeline.KindInterval, encode: appendString}
	convStamp    = converter{kind: pipeline.KindTime, typ: "timestamp", encode: appendTimestamp}
	convStampZ   = converter{kind: pipeline.KindTime, typ: "timestamptz", encode: appendTimestamptz}
)

// builtin returns the converter of a built-in scalar type.
func builtin(oid uint32) (converter, bool) {
	var c converter
	switch oid {
	case oidBool:
		c = convBool
	case oidInt2, oidInt4, oidOID, oidXID:
		c = convNumber
	case oidInt8, oidNumeric:
		c = convBigNum
	case oidFloat4, oidFloat8:
		c = convFloat
	case oidJSON, oidJSONB:
		c = convJSON
	case oidBytea:
		c = convBytes
	case oidDate:
		c = convDate
	case oidTime, oidTimetz:
		c = convClock
	case oidInterval:
		c = convInterval
	case oidTimestamp:
		c = convStamp
	case oidTimestamptz:
		c = convStampZ
	case oidText, oidVarchar, oidBPChar, oidName, oidChar, oidUUID, oidInet, oidCIDR,
		oidMacaddr, oidMoney, oidBit, oidVarbit, oidXML:
		c = convString
	default:
		return converter{}, false
	}
	return c, true
}

func appendString(dst, text []byte) []byte {
	return pipeline.AppendJSONString(dst, string(text))
}

// appendNumber appends an integer's text as a JSON number.
func appendNumber(dst, text []byte) []byte {
	if !isJSONNumber(text) {
		return appendString(dst, text)
	}
	return append(dst, text...)
}

// appendFloat appends a float's text: a JSON number when finite (PostgreSQL
// 12+ prints the shortest text that round-trips), else a JSON string
// ("NaN", "Infinity", "-Infinity").
func appendFloat(dst, text []byte) []byte {
	if !isJSONNumber(text) {
		return appendString(dst, text)
	}
	return append(dst, text...)
}

func appendBool(dst, text []byte) []byte {
	switch string(text) {
	case "t":
		return append(dst, "true"...)
	case "f":
		return append(dst, "false"...)
	}
	return appendString(dst, text)
}

// appendJSON embeds json/jsonb text, which the server guarantees is valid.
func appendJSON(dst, text []byte) []byte {
	if len(text) == 0 {
		return appendString(dst, text)
	}
	return append(dst, text...)
}

// appendBytea converts the hex output format (\x0a0b) to base64.
func appendBytea(dst, text []byte) []byte {
	if len(text) < 2 || text[0] != '\\' || text[1] != 'x' || len(text)%2 != 0 {
		return appendString(dst, text) // escape format: keep the text
	}
	// Decode and encode a chunk at a time: a whole-value temporary would
	// hold another half of the value's text for a large bytea.
	hexText := text[2:]
	mark := len(dst)
	dst = append(dst, '"')
	var raw [3 << 10]byte // a multiple of 3: base64 without padding between chunks
	for len(hexText) > 0 {
		n := min(len(hexText), 2*len(raw))
		if _, err := hex.Decode(raw[:n/2], hexText[:n]); err != nil {
			return appendString(dst[:mark], text)
		}
		dst = base64.StdEncoding.AppendEncode(dst, raw[:n/2])
		hexText = hexText[n:]
	}
	return append(dst, '"')
}

// appendTimestamp turns "2026-11-23 10:00:00.5" into "2026-11-23T10:00:00.5".
func appendTimestamp(dst, text []byte) []byte {
	if len(text) > 10 && text[10] == ' ' && text[4] == '-' {
		dst = append(dst, '"')
		dst = append(dst, text[:10]...)
		dst = append(dst, 'T')
		dst = append(dst, text[11:]...)
		return append(dst, '"')
	}
	return appendString(dst, text) // infinity, BC dates
}

// appendTimestamptz is appendTimestamp with the session's UTC offset "+00"
// written as "Z" (the replication session runs with TimeZone=UTC).
func appendTimestamptz(dst, text []byte) []byte {
	n := len(text)
	if n > 13 && text[10] == ' ' && text[4] == '-' {
		dst = append(dst, '"')
		dst = append(dst, text[:10]...)
		dst = append(dst, 'T')
		if string(text[n-3:]) == "+00" {
			dst = append(dst, text[11:n-3]...)
			dst = append(dst, 'Z')
		} else {
			dst = append(dst, text[11:]...)
		}
		return append(dst, '"')
	}
	return appendString(dst, text)
}

// isJSONNumber reports whether text is a valid JSON number.
func isJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return false
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(b)
}

// arrayConverter converts PostgreSQL array literals ({1,2,NULL},
// {{1,2},{3,4}}, {"a b","c\"d"}, [0:1]={1,2}) to JSON arrays, converting
// each element with elem. A literal it cannot parse becomes a JSON string.
func arrayConverter(elem converter, delim byte) converter {
	return converter{kind: pipeline.KindJSON, typ: elem.typ + "[]", encode: func(dst, text []byte) []byte {
		start := len(dst)
		out, ok := appendArray(dst, text, elem, delim)
		if !ok {
			return appendString(dst[:start], text)
		}
		return out
	}}
}

func appendArray(dst, text []byte, elem converter, delim byte) ([]byte, bool) {
	// Skip explicit bounds: "[1:2]={...}".
	if len(text) > 0 && text[0] == '[' {
		eq := -1
		for i, c := range text {
			if c == '=' {
				eq = i
				break
			}
		}
		if eq < 0 {
			return dst, false
		}
		text = text[eq+1:]
	}
	p := arrayParser{text: text, elem: elem, delim: delim}
	dst, ok := p.parse(dst)
	return dst, ok && p.pos == len(text)
}

type arrayParser struct {
	text  []byte
	pos   int
	elem  converter
	delim byte
	buf   []byte
}

func (p *arrayParser) parse(dst []byte) ([]byte, bool) {
	if p.pos >= len(p.text) || p.text[p.pos] != '{' {
		return dst, false
	}
	p.pos++
	dst = append(dst, '[')
	if p.pos < len(p.text) && p.text[p.pos] == '}' {
		p.pos++
		return append(dst, ']'), true
	}
	for first := true; ; first = false {
		if !first {
			dst = append(dst, ',')
		}
		if p.pos >= len(p.text) {
			return dst, false
		}
		var ok bool
		switch p.text[p.pos] {
		case '{':
			dst, ok = p.parse(dst)
		case '"':
			dst, ok = p.quoted(dst)
		default:
			dst, ok = p.bare(dst)
		}
		if !ok || p.pos >= len(p.text) {
			return dst, false
		}
		switch p.text[p.pos] {
		case p.delim:
			p.pos++
		case '}':
			p.pos++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

func (p *arrayParser) quoted(dst []byte) ([]byte, bool) {
	p.pos++ // opening quote
	p.buf = p.buf[:0]
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.text) {
				return dst, false
			}
			p.buf = append(p.buf, p.text[p.pos+1])
			p.pos += 2
		case '"':
			p.pos++
			return p.elem.encode(dst, p.buf), true
		default:
			p.buf = append(p.buf, c)
			p.pos++
		}
	}
	return dst, false
}

func (p *arrayParser) bare(dst []byte) ([]byte, bool) {
	start := p.pos
	for p.pos < len(p.text) && p.text[p.pos] != p.delim && p.text[p.pos] != '}' {
		p.pos++
	}
	tok := p.text[start:p.pos]
	if len(tok) == 0 {
		return dst, false
	}
	if string(tok) == "NULL" {
		return append(dst, "null"...), true
	}
	return p.elem.encode(dst, tok), true
}

// typeName names a built-in type for the catalog.
func typeName(oid uint32) string {
	if n, ok := builtinNames[oid]; ok {
		return n
	}
	return fmt.Sprintf("oid:%d", oid)
}

var builtinNames = map[uint32]string{
	oidBool: "bool", oidBytea: "bytea", oidChar: "char", oidName: "name", oidInt8: "int8",
	oidInt2: "int2", oidInt4: "int4", oidText: "text", oidOID: "oid", oidXID: "xid", oidJSON: "json",
	oidXML: "xml", oidCIDR: "cidr", oidFloat4: "float4", oidFloat8: "float8", oidMoney: "money",
	oidMacaddr: "macaddr", oidInet: "inet", oidBPChar: "bpchar", oidVarchar: "varchar",
	oidDate: "date", oidTime: "time", oidTimestamp: "timestamp", oidTimestamptz: "timestamptz",
	oidInterval: "interval", oidTimetz: "timetz", oidBit: "bit", oidVarbit: "varbit",
	oidNumeric: "numeric", oidUUID: "uuid", oidJSONB: "jsonb",
}
