package sse

import (
	"bytes"

	"github.com/pgcdc/pgcdc/pipeline"
)

// The SSE wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html):
// fields are lines "name: value", a blank line ends a message, and a line
// starting with a colon is a comment. CR, LF and CRLF all end a line, so
// field values must never contain CR or LF.

var heartbeatLine = []byte(": heartbeat\n\n")

// appendMessage appends the message of event e: its id, the event field
// when name is not empty, and data (the event's JSON, maybe projected).
func appendMessage(b []byte, e *pipeline.Event, name string, data []byte) []byte {
	b = append(b, "id: "...)
	b = e.AppendID(b) // hexadecimal digits and a colon: nothing to sanitise
	b = append(b, '\n')
	if name != "" {
		b = appendField(b, "event: ", name)
	}
	b = appendData(b, data)
	return append(b, '\n')
}

// head returns the start of event e's message up to its data, "id: <id>\n"
// [event: <op>\n] "data: ", built once per event by the hub: a client that
// takes the event unchanged appends it, the JSON and "\n\n". It returns nil
// when the JSON holds a line break and must be split into several data
// lines (appendMessage does that).
func (s *Sink) head(e *pipeline.Event) []byte {
	if indexLineBreak(e.Encoded()) >= 0 {
		return nil
	}
	b := make([]byte, 0, 48)
	b = append(b, "id: "...)
	b = e.AppendID(b)
	b = append(b, '\n')
	if s.eventNames {
		b = appendField(b, "event: ", string(e.Op))
	}
	return append(b, "data: "...)
}

// appendControl appends a named control message (reset, disconnect) whose
// data is the JSON object {"reason": reason} plus, when message is not
// empty, "message". It carries no id, so the client's last event id is
// unchanged.
func appendControl(b []byte, name, reason, message string) []byte {
	b = appendField(b, "event: ", name)
	d := append(make([]byte, 0, 64+len(reason)+len(message)), `{"reason":`...)
	d = pipeline.AppendJSONString(d, reason)
	if message != "" {
		d = append(d, `,"message":`...)
		d = pipeline.AppendJSONString(d, message)
	}
	d = append(d, '}')
	b = appendData(b, d)
	return append(b, '\n')
}

// appendField appends "prefix value\n" with CR, LF and NUL removed from
// value, so that it cannot end the line or the message early.
func appendField(b []byte, prefix, value string) []byte {
	b = append(b, prefix...)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c != '\r' && c != '\n' && c != 0 {
			b = append(b, c)
		}
	}
	return append(b, '\n')
}

// appendData appends data as data: lines, one per line of data (split at
// CR, LF or CRLF): the client joins them with LF, so a value that holds a
// line break (a json column keeps the text as written) arrives intact
// except that CR and CRLF become LF, which JSON treats alike.
func appendData(b, data []byte) []byte {
	for {
		i := indexLineBreak(data)
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, data...)
			return append(b, '\n')
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// indexLineBreak returns the index of the first CR or LF in data, or -1.
// Two IndexByte scans (vectorised) beat bytes.IndexAny's byte loop on the
// common case, JSON without line breaks; this runs per event per client.
func indexLineBreak(data []byte) int {
	lf := bytes.IndexByte(data, '\n')
	head := data
	if lf >= 0 {
		head = data[:lf]
	}
	if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
		return cr
	}
	return lf
}
