package httpserver

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Page sizes of /api/changes.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 1000
)

// serveChanges answers GET /api/changes?after=<id>&limit=N&table=&op=&filter=&select=
// from the replay buffer of the first broadcast sink. The body is a JSON
// object: {"events":[...oldest first...],"next":"<id>"} plus
// "reset":"<reason>" when after fell out of the buffer. Without after it
// returns the newest limit events; pass next as after to page forward and,
// later, to poll for new changes.
func (s *Server) serveChanges(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		hub.WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET", nil)
		return
	}
	s.mu.Lock()
	h := s.changes
	s.mu.Unlock()
	if h == nil {
		hub.WriteError(w, http.StatusNotFound, "no broadcast sink: /api/changes serves the replay buffer of the first sse or websocket sink", nil)
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		hub.WriteProblems(w, []hub.Problem{{Param: "query", Message: "malformed query string: " + err.Error()}})
		return
	}
	var problems []hub.Problem
	for k := range q {
		switch k {
		case "after", "limit", "table", "op", "filter", "select", "access_token":
		default:
			problems = append(problems, hub.Problem{Param: k, Message: "unknown parameter: want after, limit, table, op, filter or select"})
		}
	}
	limit := DefaultChangesLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxChangesLimit {
			problems = append(problems, hub.Problem{Param: "limit", Message: "want a whole number from 1 to " + strconv.Itoa(MaxChangesLimit) + ", got " + strconv.Quote(v)})
		}
		limit = n
	}
	var sub pipeline.Transform
	if spec := transform.QuerySpec(q); len(spec.Table)+len(spec.Op)+len(spec.Filter)+len(spec.Select) > 0 {
		compiled, err := h.Compile(spec)
		if err != nil {
			problems = append(problems, hub.Problems(err, "query")...)
		} else {
			sub = compiled
		}
	}
	if len(problems) > 0 {
		hub.WriteProblems(w, problems)
		return
	}
	page, err := h.Page(q.Get("after"), limit, sub)
	if errors.Is(err, pipeline.ErrBadID) {
		hub.WriteProblems(w, []hub.Problem{{Param: "after", Message: err.Error()}})
		return
	}
	if err != nil {
		hub.WriteError(w, http.StatusInternalServerError, "read the replay buffer: "+err.Error(), nil)
		return
	}
	b := make([]byte, 0, 256+300*len(page.Events))
	b = append(b, `{"events":[`...)
	for i, e := range page.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.Encoded()...)
	}
	b = append(b, `],"next":`...)
	b = pipeline.AppendJSONString(b, page.Next)
	if page.Reset != "" {
		b = append(b, `,"reset":`...)
		b = pipeline.AppendJSONString(b, page.Reset)
	}
	b = append(b, "}\n"...)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}
