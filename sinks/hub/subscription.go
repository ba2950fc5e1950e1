package hub

import (
	"errors"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Compile parses a client's subscription (SSE query parameters or a
// WebSocket subscribe message) and checks it against the hub's catalog: an
// unknown table, a column no subscribed table has, a value of the wrong
// type are errors, never a silent match-nothing. The error is a
// transform.Errors whose fields are the parameter names (table, op,
// filter, select); Problems flattens it.
func (h *Hub) Compile(spec transform.SubscriptionSpec) (*transform.Subscription, error) {
	sub, err := transform.NewSubscription(spec)
	if err != nil {
		return nil, err
	}
	if h.cat != nil {
		if err := sub.Check(h.cat); err != nil {
			return nil, err
		}
	}
	return sub, nil
}

// Problem is one bad parameter, for an HTTP 400 body or a WebSocket error
// message.
type Problem struct {
	Param   string `json:"param"`
	Message string `json:"message"`
}

// Problems flattens err into one Problem per bad parameter. Errors that do
// not name a parameter are reported under param.
func Problems(err error, param string) []Problem {
	var list transform.Errors
	if errors.As(err, &list) {
		out := make([]Problem, 0, len(list))
		for _, fe := range list {
			out = append(out, Problem{Param: fe.Field, Message: fe.Err.Error()})
		}
		return out
	}
	var fe *transform.FieldError
	if errors.As(err, &fe) {
		return []Problem{{Param: fe.Field, Message: fe.Err.Error()}}
	}
	return []Problem{{Param: param, Message: err.Error()}}
}
