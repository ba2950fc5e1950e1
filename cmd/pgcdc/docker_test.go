package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfile is the repository's Dockerfile as instructions: continuation
// lines joined, comments dropped, split into stages at FROM.
func dockerfile(t *testing.T) [][]string {
	t.Helper()
	var stages [][]string
	text := strings.ReplaceAll(mustRead(t, "../../Dockerfile"), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], line)
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want build and final", len(stages))
	}
	return stages
}

// TestDockerfile checks what the image promises without a Docker engine:
// it runs as distroless's nonroot (uid 65532) in a working directory that
// user owns; the server listens on all interfaces on the exposed port; the
// health check runs pgcdc health against that port; and the build stage's
// go build command line, run here, makes a static binary whose version is
// the VERSION build argument when given.
func TestDockerfile(t *testing.T) {
	stages := dockerfile(t)
	final := stages[1]
	index := func(re string) int {
		t.Helper()
		for i, l := range final {
			if regexp.MustCompile(`^` + re + `$`).MatchString(l) {
				return i
			}
		}
		t.Errorf("the final stage has no line matching %s:\n%s", re, strings.Join(final, "\n"))
		return -1
	}
	if !strings.HasPrefix(final[0], "FROM gcr.io/distroless/static-debian12:nonroot") {
		t.Errorf("final stage %q, want distroless static nonroot", final[0])
	}
	chown := index(`COPY --from=build --chown=65532:65532 \S+ /var/lib/pgcdc`)
	user := index(`USER nonroot:nonroot`)
	workdir := index(`WORKDIR /var/lib/pgcdc`)
	if chown > workdir || user > workdir {
		t.Errorf("the working directory must be created owned by nonroot (COPY --chown, line %d) before WORKDIR (line %d), after USER (line %d)", chown, workdir, user)
	}
	index(`ENV PGCDC_SERVER_LISTEN=0.0.0.0:8080`)
	index(`EXPOSE 8080`)
	hc := final[index(`HEALTHCHECK .* CMD \[.*\]`)]
	var probe []string
	if err := json.Unmarshal([]byte(hc[strings.Index(hc, "CMD ")+4:]), &probe); err != nil {
		t.Fatalf("HEALTHCHECK CMD is not an exec-form JSON array: %v", err)
	}
	if len(probe) < 2 || probe[0] != "/usr/local/bin/pgcdc" || probe[1] != "health" || !strings.Contains(strings.Join(probe, " "), "http://127.0.0.1:8080/readyz") {
		t.Errorf("HEALTHCHECK runs %q, want /usr/local/bin/pgcdc health on 127.0.0.1:8080/readyz", probe)
	}
	index(`ENTRYPOINT \["/usr/local/bin/pgcdc"\]`)
	index(`COPY --from=build /out/pgcdc /usr/local/bin/pgcdc`)

	// The build stage's command line, run from the repository root.
	var build string
	for _, l := range stages[0] {
		if strings.HasPrefix(l, "RUN CGO_ENABLED=0 go build ") {
			build = strings.TrimPrefix(l, "RUN ")
		}
	}
	if build == "" || !strings.Contains(build, "-o /out/pgcdc ./cmd/pgcdc") {
		t.Fatalf("no 'RUN CGO_ENABLED=0 go build ... -o /out/pgcdc ./cmd/pgcdc' in the build stage:\n%s", strings.Join(stages[0], "\n"))
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pgcdc")
	versionOfBuild := func(version string) string {
		t.Helper()
		sh := exec.Command("/bin/sh", "-c", strings.Replace(build, "/out/pgcdc", bin, 1))
		sh.Dir = "../.."
		sh.Env = append(os.Environ(), "VERSION="+version)
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", build, err, out)
		}
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("pgcdc --version: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := versionOfBuild("v9.8.7-docker"); got != "pgcdc version v9.8.7-docker" {
		t.Errorf("built with VERSION=v9.8.7-docker: %q", got)
	}
	if got := versionOfBuild(""); got == "pgcdc version " || strings.Contains(got, "v9.8.7") {
		t.Errorf("built without VERSION: %q, want the version from the build info", got)
	}
	info, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "CGO_ENABLED=0") || !strings.Contains(string(info), "-trimpath=true") {
		t.Errorf("go version -m: %v\n%s\nwant a static, trimmed build", err, info)
	}
	// That binary is what the health check runs: nothing listens, exit 1.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out, err := exec.Command(bin, "health", "--url", "http://"+addr+"/readyz").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("health against a closed port: %v, output %q; want exit 1 and one line", err, out)
	}
}
