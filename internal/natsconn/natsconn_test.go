package natsconn

import (
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"nats://u:secret@h:4222":             "nats://u:xxxxx@h:4222",
		"nats://token@h:4222,nats://h2:4222": "nats://xxxxx@h:4222,nats://h2:4222",
		"nats://h:4222":                      "nats://h:4222",
		"nats://u:sec ret@h:4222\x7f":        "(unparsable url)",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConnectRefuses(t *testing.T) {
	if _, err := Connect(Options{}, nil); err == nil || !strings.Contains(err.Error(), "url is required") {
		t.Fatalf("Connect without url = %v", err)
	}
	_, err := Connect(Options{URL: "nats://u:pw@127.0.0.1:1", NKeyFile: "/does/not/exist"}, nil)
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("Connect with a missing nkey file = %v (must fail, without the password)", err)
	}
}
