package main

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "d9b273d1a2b3c4d5e6f708192a3b4c5d6e7f8091"
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "dev"},
		{"go install @v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"go build in a checkout", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203091100-d9b273d1a2b3+dirty"}, Settings: vcs(rev, "true")},
			"v0.0.0-20261203091100-d9b273d1a2b3+dirty"},
		{"devel with a clean commit", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")}, "d9b273d1a2b3"},
		{"devel with changes", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")}, "d9b273d1a2b3-dirty"},
		{"devel without vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := versionOf(c.info); got != c.want {
			t.Errorf("%s: versionOf = %q, want %q", c.name, got, c.want)
		}
	}
}

// The -ldflags value wins over the build info; without it the binary
// reports what its build info says.
func TestVersionFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "pgcdc")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v3.2.1-test", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "pgcdc version v3.2.1-test" {
		t.Errorf("built with -X main.version=v3.2.1-test: %q, %v", out, err)
	}
	// The test binary's build info, as go version -m prints it.
	m, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(m)), "\n")
	text := "go\t" + strings.TrimSpace(lines[0][strings.LastIndex(lines[0], " "):]) + "\n"
	for _, l := range lines[1:] {
		text += strings.TrimPrefix(l, "\t") + "\n"
	}
	info, err := debug.ParseBuildInfo(text)
	if err != nil {
		t.Fatalf("parse go version -m output: %v\n%s", err, text)
	}
	out, err = exec.Command(binary, "--version").Output()
	if want := "pgcdc version " + versionOf(info); err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("pgcdc --version: %q, %v; want %q", out, err, want)
	}
}
