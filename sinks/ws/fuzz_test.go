package ws

import (
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// FuzzParse: any client message becomes a subscribe, an unsubscribe with
// an id, or an error naming at least one parameter; never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","id":"s1","table":["public.orders"],"op":["insert"],"filter":["status=eq.paid"],"select":["id","status"],"resume_from":"00000000016B3748:00000003"}`,
		`{"type":"unsubscribe","id":"s1"}`, `{"type":"subscribe","id":"x","filter":"total=in.(1,\"a,b\")"}`,
		`[]`, `null`, `{"type":1}`, `{"id":"a","table":[1]}`, ``, `{"type":"subscribe","id":"s","op":"insert,,"}`,
	} {
		f.Add([]byte(s))
	}
	s, err := New(testConfig("fuzz", config.Broadcast{}), hubtest.Catalog(), nil)
	if err != nil {
		f.Fatal(err)
	}
	h := s.Hub()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := parse(t.Context(), h, live.Scope{}, data)
		switch r.kind {
		case reqSubscribe, reqUnsubscribe:
			if r.id == "" {
				t.Fatalf("%q: request without id", data)
			}
		case reqError:
			if len(r.problems) == 0 || r.problems[0].Param == "" || r.problems[0].Message == "" {
				t.Fatalf("%q: error without a named parameter: %+v", data, r.problems)
			}
		}
	})
}
