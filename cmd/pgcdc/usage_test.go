package main

import "testing"

// TestUsageErrorsExit64: a mistyped subcommand, an extra argument or a
// command group without a subcommand exits 64 with one line naming the
// mistake, so that a script never "succeeds" on a typo.
func TestUsageErrorsExit64(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"slot", "dorp"}, `unknown command "dorp" for "pgcdc slot" (did you mean drop?)`},
		{[]string{"publication", "craete"}, `unknown command "craete" for "pgcdc publication" (did you mean create?)`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "pgcdc"`},
		{[]string{"run", "extra"}, `unknown command "extra" for "pgcdc run"`},
		{[]string{"slot"}, `pgcdc slot needs a subcommand: create, drop, list`},
		{[]string{"deadletter"}, `pgcdc deadletter needs a subcommand: replay`},
		{[]string{"run", "--no-such-flag"}, `unknown flag: --no-such-flag`},
	}
	for _, tt := range tests {
		code, out := runOnce(t, tt.args...)
		expectFailure(t, code, out, exitUsage, tt.want)
	}
	if code, out := runOnce(t, "--help"); code != 0 {
		t.Errorf("pgcdc --help exit code %d:\n%s", code, out)
	}
}
