package live

import (
	"context"
	"net/url"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// The query parameters every live endpoint takes: the subscription
// (ARCHITECTURE §5) and the token parameter reserved for authentication
// (EventSource cannot set headers, ARCHITECTURE §9).
var (
	subscriptionParams = []string{"table", "op", "filter", "select"}
	tokenParam         = "access_token"
)

// ParseQuery parses a request's raw query strictly: a malformed query, or
// a parameter that is neither a subscription parameter (table, op, filter,
// select), the token parameter nor one of extra, is a problem naming it,
// never silently ignored (a mistyped "tables=" would otherwise stream
// every table).
func ParseQuery(raw string, extra ...string) (url.Values, []Problem) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, []Problem{{Param: "query", Message: "malformed query string: " + err.Error()}}
	}
	var problems []Problem
	for k := range q {
		if k == "" {
			problems = append(problems, Problem{Param: "query", Message: "a parameter without a name (\"=value\")"})
			continue
		}
		if !known(k, extra) {
			want := append(append([]string(nil), subscriptionParams...), extra...)
			problems = append(problems, Problem{Param: k, Message: "unknown parameter: want " +
				strings.Join(want[:len(want)-1], ", ") + " or " + want[len(want)-1]})
		}
	}
	return q, problems
}

func known(k string, extra []string) bool {
	if k == tokenParam {
		return true
	}
	for _, p := range subscriptionParams {
		if k == p {
			return true
		}
	}
	for _, p := range extra {
		if k == p {
			return true
		}
	}
	return false
}

// spec returns the subscription parameters of a query.
func spec(q url.Values) transform.SubscriptionSpec { return transform.QuerySpec(q) }

// HasSubscription reports whether spec asks for anything (a spec without
// any parameter takes every event unchanged).
func HasSubscription(spec transform.SubscriptionSpec) bool {
	return len(spec.Table)+len(spec.Op)+len(spec.Filter)+len(spec.Select) > 0
}

// Compile compiles a client's subscription against the hub's catalog (see
// hub.Compile), returning its problems by parameter. An empty spec gives a
// nil subscription: every event.
func Compile(ctx context.Context, h *hub.Hub, spec transform.SubscriptionSpec) (*transform.Subscription, []Problem) {
	if !HasSubscription(spec) {
		return nil, nil
	}
	sub, err := h.Compile(ctx, spec)
	if err != nil {
		return nil, Problems(err, "subscription")
	}
	return sub, nil
}

// CheckScope refuses a subscription whose tables reach outside the
// scope (a literal table it does not allow, or a pattern matching none
// it allows, checked against h's catalog): an *AuthError with status
// 403 naming the table; nil when it is within.
func CheckScope(scope Scope, h *hub.Hub, spec transform.SubscriptionSpec) *AuthError {
	if err := scope.CheckTables(spec.Table, h.Catalog()); err != nil {
		return Forbidden(err)
	}
	return nil
}

// CheckID checks a resume id (Last-Event-ID, lastEventId, resume_from,
// after) without placing a cursor: nil when it is empty or well formed.
func CheckID(id, param string) []Problem {
	if id == "" {
		return nil
	}
	if _, _, err := pipeline.ParseID(id); err != nil {
		return []Problem{{Param: param, Message: err.Error()}}
	}
	return nil
}

// Transform returns what a client with scope and subscription sub reads:
// the scope first, so that the client's filter can only narrow it. nil:
// every event unchanged.
func Transform(scope Scope, sub *transform.Subscription) pipeline.Transform {
	switch {
	case scope.Filter == nil && sub == nil:
		return nil
	case scope.Filter == nil:
		return sub
	case sub == nil:
		return scope.Filter
	}
	return pipeline.Chain{scope.Filter, sub}
}
