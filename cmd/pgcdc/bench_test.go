package main

import "testing"

// Bad bench flags exit 64 with one line naming the flag, before any
// PostgreSQL starts.
func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--sink", "kafka"}, `--sink is "kafka"`},
		{[]string{"bench", "--rows", "0"}, "--rows, --txn-rows and --repeat must be at least 1"},
		{[]string{"bench", "--max-events", "10"}, "--max-events and --sign apply to --sink webhook only"},
		{[]string{"bench", "--sign"}, "--max-events and --sign apply to --sink webhook only"},
		{[]string{"bench", "--sink", "webhook", "--max-events", "0"}, "--max-events must be at least 1"},
		{[]string{"bench", "live", "--proto", "http"}, `invalid argument "http" for "--proto" flag: want sse, websocket or both`},
		{[]string{"bench", "live", "--clients", "1000,x"}, `invalid argument "1000,x" for "--clients" flag: "x" is not a positive number`},
		{[]string{"bench", "live", "--clients", "0"}, `invalid argument "0" for "--clients"`},
		{[]string{"bench", "live", "--rate", "0"}, "--rate is 0"},
		{[]string{"bench", "live", "--writers", "0"}, "--writers is 0"},
		{[]string{"bench", "live", "--duration", "0s"}, "--duration and --drain must be positive"},
		{[]string{"bench", "live", "--rate", "x"}, `invalid argument "x" for "--rate"`},
	} {
		code, out := runOnce(t, c.args...)
		expectFailure(t, code, out, exitUsage, c.want)
	}
}
