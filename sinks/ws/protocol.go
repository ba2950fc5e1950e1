package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Limits of the subscribe protocol.
const (
	// MaxSubscriptions is the most subscriptions one connection may hold.
	MaxSubscriptions = 64
	// maxIDLen bounds a subscription id.
	maxIDLen = 128
)

// reqKind is what the reader asks the writer to do.
type reqKind uint8

const (
	reqSubscribe reqKind = iota
	reqUnsubscribe
	reqError // send an error message
	reqAuth  // an auth message was accepted: scope
	reqClose // send an error message and close with close
)

// request is a parsed client message, handed from the reader goroutine to
// the writer goroutine, which owns the subscriptions and the output.
type request struct {
	kind     reqKind
	id       string                  // subscription id ("" when unknown)
	sub      *transform.Subscription // reqSubscribe: the client's (nil: everything)
	resume   string
	snapshot bool           // reqSubscribe: the current rows first
	problems []live.Problem // reqError, reqClose
	scope    live.Scope     // reqAuth; reqSubscribe: what sub was checked against
	close    *closeError    // reqClose
}

// isAuthMessage reports whether a client message is of type auth
// ({"type":"auth","token":...}), which package auth parses strictly.
func isAuthMessage(data []byte) bool {
	var m struct {
		Type json.RawMessage `json:"type"`
	}
	return json.Unmarshal(data, &m) == nil && string(m.Type) == `"auth"`
}

// stringList is a JSON array of strings that also accepts one string.
type stringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *stringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = stringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = ss
	return nil
}

var knownFields = []string{"type", "id", "table", "op", "filter", "select", "resume_from", "snapshot"}

func fail(id string, param, format string, args ...any) request {
	return request{kind: reqError, id: id, problems: []live.Problem{{Param: param, Message: fmt.Sprintf(format, args...)}}}
}

// parse turns one client text message into a request for the writer.
// Every problem becomes a reqError naming the field.
func parse(ctx context.Context, h *hub.Hub, scope live.Scope, data []byte) request {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return fail("", "message", "want a JSON object, got %s", typ.Value)
		}
		return fail("", "message", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if raw == nil {
		return fail("", "message", "want a JSON object, got null")
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(knownFields, k) {
			param := k
			if param == "" {
				param = "message"
			}
			return fail("", param, "unknown field %q: want %s", k, strings.Join(knownFields, ", "))
		}
	}
	var typ, id string
	var hasID, hasResume bool
	var resume string
	var lists [4]stringList
	if r := decodeString(raw, "type", &typ, nil); r != nil {
		return *r
	}
	if r := decodeString(raw, "id", &id, &hasID); r != nil {
		return *r
	}
	if r := decodeString(raw, "resume_from", &resume, &hasResume); r != nil {
		return *r
	}
	var snapshot bool
	if v, ok := raw["snapshot"]; ok {
		if err := json.Unmarshal(v, &snapshot); err != nil {
			return fail(id, "snapshot", "want true or false, got %s", v)
		}
	}
	for i, name := range [...]string{"table", "op", "filter", "select"} {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, &lists[i]); err != nil {
				return fail(id, name, "want a string or an array of strings")
			}
		}
	}
	switch typ {
	case "subscribe":
		if r, ok := checkID(id, hasID); !ok {
			return r
		}
		spec := transform.SubscriptionSpec{Table: lists[0], Op: lists[1], Filter: lists[2], Select: lists[3]}
		r := subscribeRequest(ctx, h, scope, id, spec, resume)
		r.snapshot = snapshot && resume == "" // resuming: the client has the rows
		return r
	case "auth":
		return fail(id, "type", `an auth message takes exactly type and token: {"type":"auth","token":"<token>"}`)
	case "unsubscribe":
		if r, ok := checkID(id, hasID); !ok {
			return r
		}
		for _, name := range knownFields[2:] {
			if _, set := raw[name]; set {
				return fail(id, name, "not allowed in unsubscribe: it takes only type and id")
			}
		}
		return request{kind: reqUnsubscribe, id: id}
	case "":
		return fail(id, "type", "missing: want \"subscribe\", \"unsubscribe\" or \"auth\"")
	default:
		return fail(id, "type", "unknown message type %q: want \"subscribe\", \"unsubscribe\" or \"auth\"", typ)
	}
}

// decodeString decodes the string field name of raw into dst, setting
// *present when the field is there. It returns an error request when the
// field is not a string.
func decodeString(raw map[string]json.RawMessage, name string, dst *string, present *bool) *request {
	v, ok := raw[name]
	if !ok {
		return nil
	}
	if present != nil {
		*present = true
	}
	if err := json.Unmarshal(v, dst); err != nil {
		r := fail("", name, "want a string, got %s", v)
		return &r
	}
	return nil
}

func checkID(id string, present bool) (request, bool) {
	switch {
	case !present || id == "":
		return fail("", "id", "missing: every subscribe and unsubscribe names its subscription, e.g. \"id\":\"s1\""), false
	case len(id) > maxIDLen:
		return fail("", "id", "longer than %d bytes", maxIDLen), false
	}
	return request{}, true
}

// subscribeRequest compiles a subscription and checks its resume id.
func subscribeRequest(ctx context.Context, h *hub.Hub, scope live.Scope, id string, spec transform.SubscriptionSpec, resume string) request {
	if ae := live.CheckScope(scope, h, spec); ae != nil {
		return request{kind: reqError, id: id, problems: []live.Problem{{Param: "table", Message: ae.Reason + ": " + ae.Message}}}
	}
	sub, problems := live.Compile(ctx, h, spec)
	problems = append(problems, live.CheckID(resume, "resume_from")...)
	if len(problems) > 0 {
		return request{kind: reqError, id: id, problems: problems}
	}
	return request{kind: reqSubscribe, id: id, scope: scope, sub: sub, resume: resume}
}

// queryRequest returns the request that the connection URL's query opens
// (a subscription "default"), if any: only when at least one of table,
// op, filter, select and resume_from is present.
func queryRequest(ctx context.Context, h *hub.Hub, scope live.Scope, raw string) (request, bool) {
	q, problems := live.ParseQuery(raw, "resume_from", "snapshot")
	switch v := q.Get("snapshot"); v {
	case "", "true", "false":
	default:
		problems = append(problems, live.Problem{Param: "snapshot", Message: fmt.Sprintf("want true or false, got %q", v)})
	}
	if len(problems) > 0 {
		return request{kind: reqError, id: defaultID, problems: problems}, true
	}
	spec := transform.QuerySpec(q)
	resume := q.Get("resume_from")
	snapshot := q.Get("snapshot") == "true"
	if !live.HasSubscription(spec) && resume == "" && !snapshot {
		return request{}, false
	}
	r := subscribeRequest(ctx, h, scope, defaultID, spec, resume)
	r.snapshot = snapshot && resume == ""
	return r, true
}

// defaultID is the id of the subscription the URL's query opens.
const defaultID = "default"

// Server → client frames. ids are JSON-escaped with AppendJSONString.

func appendSimple(b []byte, typ, id string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","id":`...)
	b = pipeline.AppendJSONString(b, id)
	return append(b, '}')
}

func appendReset(b []byte, sub, reason string) []byte {
	b = append(b, `{"type":"reset","sub":`...)
	b = pipeline.AppendJSONString(b, sub)
	b = append(b, `,"reason":`...)
	b = pipeline.AppendJSONString(b, reason)
	return append(b, '}')
}

func appendError(b []byte, id string, problems []live.Problem) []byte {
	b = append(b, `{"type":"error"`...)
	if id != "" {
		b = append(b, `,"id":`...)
		b = pipeline.AppendJSONString(b, id)
	}
	b = append(b, `,"message":`...)
	b = pipeline.AppendJSONString(b, live.Summary(problems))
	list, _ := json.Marshal(problems)
	b = append(b, `,"errors":`...)
	b = append(b, list...)
	return append(b, '}')
}

// eventPrefix is the start of the event frames of subscription id; the
// event JSON and a closing brace follow.
func eventPrefix(id string) []byte {
	b := append([]byte(nil), `{"type":"event","sub":`...)
	b = pipeline.AppendJSONString(b, id)
	return append(b, `,"event":`...)
}
