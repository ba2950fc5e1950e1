package webhook

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Content types of request bodies.
const (
	contentJSON            = "application/json"
	contentCloudEvent      = "application/cloudevents+json"
	contentCloudEventBatch = "application/cloudevents-batch+json"
)

// commitTimeLayout is how the event JSON writes commit_time; a CloudEvent's
// time repeats it.
const commitTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// item is one event as a request body needs it: its pre-encoded JSON and,
// for the CloudEvents envelope, the attributes taken from it.
type item struct {
	raw                       []byte
	id, op, schema, table, ts string
}

// itemOf describes e. The CloudEvents attributes are only filled when
// needed, so the plain format costs no allocation per event.
func itemOf(e *pipeline.Event, cloudEvents bool) item {
	it := item{raw: e.Encoded()}
	if cloudEvents {
		it.id = e.ID()
		it.op = string(e.Op)
		it.schema, it.table = e.Schema, e.Table
		it.ts = e.CommitTime.UTC().Format(commitTimeLayout)
	}
	return it
}

// itemFromJSON describes an event read back from its JSON encoding (a
// dead-letter line).
func itemFromJSON(raw []byte, cloudEvents bool) (item, error) {
	it := item{raw: raw}
	var f struct {
		ID         string `json:"id"`
		Op         string `json:"op"`
		Schema     string `json:"schema"`
		Table      string `json:"table"`
		CommitTime string `json:"commit_time"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return item{}, fmt.Errorf("event is not a JSON object: %w", err)
	}
	if f.ID == "" {
		return item{}, fmt.Errorf("event has no id")
	}
	it.id = f.ID
	if cloudEvents {
		if f.Op == "" || f.CommitTime == "" {
			return item{}, fmt.Errorf("event %s lacks op or commit_time", f.ID)
		}
		it.op, it.schema, it.table, it.ts = f.Op, f.Schema, f.Table, f.CommitTime
	}
	return it, nil
}

// encoder writes request bodies by appending pre-encoded event JSON: the
// event object, or a CloudEvents 1.0 structured-mode envelope around it;
// one per body, or a JSON array of them when array is set. Events are
// never re-marshalled.
type encoder struct {
	cloudEvents bool
	array       bool
	database    string
}

// contentType returns the Content-Type of the bodies enc writes.
func (enc encoder) contentType() string {
	switch {
	case enc.cloudEvents && enc.array:
		return contentCloudEventBatch
	case enc.cloudEvents:
		return contentCloudEvent
	default:
		return contentJSON
	}
}

// begin starts a body.
func (enc encoder) begin(b []byte) []byte {
	if enc.array {
		return append(b, '[')
	}
	return b
}

// shared reports whether a body is one event's JSON as it is (one event
// per request, no envelope): then add returns the event's own encoding
// instead of a copy, so a request holds no second copy of a large row.
// The body is never appended to afterwards: a request of one event is
// sent as soon as it has it.
func (enc encoder) shared() bool { return !enc.array && !enc.cloudEvents }

// add appends the n-th item (from 0) of a body.
func (enc encoder) add(b []byte, n int, it item) []byte {
	if enc.shared() && n == 0 && len(b) == 0 {
		return it.raw[:len(it.raw):len(it.raw)] // read-only; an append copies
	}
	if n > 0 {
		b = append(b, ',')
	}
	if !enc.cloudEvents {
		return append(b, it.raw...)
	}
	b = append(b, `{"specversion":"1.0","type":`...)
	b = pipeline.AppendJSONString(b, "pgcdc."+it.op)
	b = append(b, `,"source":`...)
	b = pipeline.AppendJSONString(b, "/postgres/"+url.PathEscape(enc.database)+"/"+
		url.PathEscape(it.schema)+"/"+url.PathEscape(it.table))
	b = append(b, `,"id":`...)
	b = pipeline.AppendJSONString(b, it.id)
	b = append(b, `,"time":`...)
	b = pipeline.AppendJSONString(b, it.ts)
	b = append(b, `,"datacontenttype":"application/json","data":`...)
	b = append(b, it.raw...)
	return append(b, '}')
}

// end finishes a body.
func (enc encoder) end(b []byte) []byte {
	if enc.array {
		return append(b, ']')
	}
	return b
}

// endLen is how many bytes end appends.
func (enc encoder) endLen() int {
	if enc.array {
		return 1
	}
	return 0
}

// batchID returns the webhook-id of a request carrying the events first
// to last: the event id for a single event, "<first>-<last>" for an array
// body. It is stable across retries and replays of the same request and
// contains no '.', as the specification asks.
func (enc encoder) batchID(first, last string) string {
	if !enc.array {
		return first
	}
	return first + "-" + last
}
