package hub

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the JSON body of every 4xx/5xx answer of the broadcast
// sinks and /api/changes: a readable message and, for bad parameters, one
// entry per parameter.
type ErrorBody struct {
	Error  string    `json:"error"`
	Errors []Problem `json:"errors,omitempty"`
}

// WriteError answers with status and a JSON ErrorBody.
func WriteError(w http.ResponseWriter, status int, message string, problems []Problem) {
	body, _ := json.Marshal(ErrorBody{Error: message, Errors: problems})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// WriteProblems answers 400 with every problem of a bad subscription.
func WriteProblems(w http.ResponseWriter, problems []Problem) {
	msg := "invalid subscription: "
	for i, p := range problems {
		if i > 0 {
			msg += "; "
		}
		msg += p.Param + ": " + p.Message
	}
	WriteError(w, http.StatusBadRequest, msg, problems)
}
