package main

import "runtime/debug"

func init() {
	if version == "" {
		info, _ := debug.ReadBuildInfo()
		version = versionOf(info)
	}
}

// versionOf returns the version the Go build info gives: the module
// version (`go install github.com/pgcdc/pgcdc/cmd/pgcdc@v1.2.3`, or the
// pseudo-version go build derives from a git checkout, "+dirty" when it
// has changes), else the commit (12 hex digits, "-dirty" when modified),
// else "dev".
func versionOf(info *debug.BuildInfo) string {
	if info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	rev = rev[:min(len(rev), 12)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}
