package live

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/pgcdc/pgcdc/pipeline/transform"
)

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

// Summary joins problems into one readable line, "param: message; ...".
func Summary(problems []Problem) string {
	var b strings.Builder
	for i, p := range problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Param + ": " + p.Message)
	}
	return b.String()
}

// ErrorBody is the JSON body of every 4xx/5xx answer of the live
// endpoints: a readable message and, for bad parameters, one entry per
// parameter.
type ErrorBody struct {
	// Error is a readable message, or, on an authorization refusal (401,
	// 403), a stable word such as token_expired (auth.Reason) with the
	// readable Message beside it: the body of /api/whoami and
	// /api/ticket's refusals too.
	Error   string    `json:"error"`
	Message string    `json:"message,omitempty"`
	Errors  []Problem `json:"errors,omitempty"`
}

// WriteError answers with status and a JSON ErrorBody.
func WriteError(w http.ResponseWriter, status int, message string, problems []Problem) {
	writeBody(w, status, ErrorBody{Error: message, Errors: problems})
}

func writeBody(w http.ResponseWriter, status int, eb ErrorBody) {
	body, _ := json.Marshal(eb)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// WriteProblems answers 400 with every problem of a bad request.
func WriteProblems(w http.ResponseWriter, problems []Problem) {
	WriteError(w, http.StatusBadRequest, "invalid subscription: "+Summary(problems), problems)
}
