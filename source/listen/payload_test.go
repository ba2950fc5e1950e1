package listen

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func newOffline() *Source {
	s := New(nil, Config{Channels: []string{"c"}, Fields: Fields{Op: "action", Row: "data"}}, nil)
	s.now = func() time.Time { return time.UnixMicro(1_000_000) }
	return s
}

func TestPayload(t *testing.T) {
	s := newOffline()
	ctx := context.Background()
	ev, err := s.event(ctx, &pgconn.Notification{Payload: `{"table":"orders","action":"UPDATE","data":{"id":1,"n":"x"}}`})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"00000000000F4240:00000000","op":"update","schema":"public","table":"orders","commit_lsn":"0/F4240","xid":0,"commit_time":"1970-01-01T00:00:01.000000Z","key":null,"before":null,"after":{"id":1,"n":"x"}}`
	if got := string(ev.Encoded()); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Ids increase even when the clock does not.
	ev2, err := s.event(ctx, &pgconn.Notification{Payload: `{"table":"orders","action":"delete","data":{"id":1}}`})
	if err != nil || ev2.ID() <= ev.ID() || ev2.Before == nil || ev2.After != nil {
		t.Fatalf("second event %v: %s", err, ev2.Encoded())
	}
	for _, bad := range []string{`not json`, `{"action":"INSERT","data":{}}`, `{"table":"t","action":"upsert","data":{}}`,
		`{"table":"t","action":"INSERT"}`, `{"table":1,"action":"INSERT","data":{}}`, `{"table":"t","action":"INSERT","data":[1]}`} {
		if _, err := s.event(ctx, &pgconn.Notification{Payload: bad}); err == nil {
			t.Errorf("payload %s: no error", bad)
		}
	}
}

// FuzzPayload: any payload gives an error or an event whose JSON is
// valid; never a panic.
func FuzzPayload(f *testing.F) {
	f.Add(`{"table":"orders","action":"INSERT","data":{"id":1,"a":[1,{"b":null}],"s":"\u00e9"}}`)
	f.Add(`{"table":"t","schema":"s","action":"truncate"}`)
	f.Add(`{"table":"t","action":"delete","data":null,"old_row":{"x":true}}`)
	s := newOffline()
	f.Fuzz(func(t *testing.T, payload string) {
		ev, err := s.event(context.Background(), &pgconn.Notification{Payload: payload})
		if err != nil {
			return
		}
		if !json.Valid(ev.Encoded()) {
			t.Fatalf("payload %q gives invalid JSON %s", payload, ev.Encoded())
		}
	})
}
