package live

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/sinks/hub"
)

// Page sizes of /api/changes.
const (
	DefaultChangesLimit = 100
	MaxChangesLimit     = 1000
)

// Changes returns the handler of GET /api/changes?after=<id>&limit=N&
// table=&op=&filter=&select= over h's replay buffer. Its requests pass
// the gate with origins (the same Host, Origin and authorization rules as
// the sink's streams). The body is a JSON object: {"events":[...oldest
// first...],"next":"<id>"} plus "reset":"<reason>" when after fell out of
// the buffer. Without after it returns the newest limit events; pass next
// as after to page forward and, later, to poll for new changes.
func Changes(h *hub.Hub, gate *Gate, origins Origins) http.Handler {
	return &changes{hub: h, gate: gate, origins: origins}
}

type changes struct {
	hub     *hub.Hub
	gate    *Gate
	origins Origins
}

func (c *changes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, ok := c.gate.Admit(w, r, c.origins)
	if !ok {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		Preflight(w, r, "GET, HEAD, OPTIONS", "Accept, Authorization")
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET", nil)
		return
	}
	q, problems := ParseQuery(r.URL.RawQuery, "after", "limit")
	limit := DefaultChangesLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxChangesLimit {
			problems = append(problems, Problem{Param: "limit", Message: "want a whole number from 1 to " + strconv.Itoa(MaxChangesLimit) + ", got " + strconv.Quote(v)})
		}
		limit = n
	}
	after := q.Get("after")
	problems = append(problems, CheckID(after, "after")...)
	var sub pipeline.Transform
	if len(problems) == 0 {
		if ae := CheckScope(scope, c.hub, spec(q)); ae != nil {
			WriteAuthError(w, ae)
			return
		}
		compiled, ps := Compile(r.Context(), c.hub, spec(q))
		problems = ps
		sub = Transform(scope, compiled)
	}
	if len(problems) > 0 {
		WriteProblems(w, problems)
		return
	}
	page, err := c.hub.Page(r.Context(), after, limit, sub)
	if errors.Is(err, pipeline.ErrBadID) {
		WriteProblems(w, []Problem{{Param: "after", Message: err.Error()}})
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "read the replay buffer: "+err.Error(), nil)
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
