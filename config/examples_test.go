package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// exampleEnv holds values for the variables that example files require.
var exampleEnv = map[string]string{
	"DATABASE_URL":   "postgres://pgcdc:example@localhost:5432/app",
	"WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"JWT_SECRET":     "example-jwt-secret",
}

// requiredVar finds ${VAR} without a default; "$${" is an escape.
var requiredVar = regexp.MustCompile(`(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// TestExamples loads and validates every YAML file under ../examples with
// the variables it requires set, and with those that have a default
// unset.
func TestExamples(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Prometheus rules and dashboards are checked by their own module.
		if d.IsDir() && d.Name() == "monitoring" {
			return filepath.SkipDir
		}
		// docker compose files are not pgcdc configs (TestComposeExample).
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.Contains(filepath.Base(path), "compose") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example configs under ../examples")
	}
	for _, f := range files {
		t.Run(filepath.ToSlash(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, m := range requiredVar.FindAllStringSubmatch(stripComments(string(data)), -1) {
				v, ok := exampleEnv[m[2]]
				if !ok {
					t.Fatalf("the example requires ${%s}: add a value for it to exampleEnv", m[2])
				}
				env[m[2]] = v
			}
			doc, err := ParseDocument(data, filepath.Base(f), MapEnv(env))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if err := doc.Resolve(nil, NeedAll); err != nil {
				t.Fatalf("validate:\n%v", err)
			}
		})
	}
}

// stripComments drops YAML comments: "#" at the start of a line or after
// a blank, to the end of the line. It is naive about "#" inside quotes,
// which the examples do not use before a ${VAR}.
func stripComments(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if l[j] == '#' && (j == 0 || l[j-1] == ' ' || l[j-1] == '\t') {
				lines[i] = l[:j]
				break
			}
		}
	}
	return strings.Join(lines, "\n")
}

// TestComposeExample checks the docker compose example: PostgreSQL runs
// with wal_level=logical and pgcdc's mounted config exists.
func TestComposeExample(t *testing.T) {
	data, err := os.ReadFile("../examples/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if !slices.Contains(compose.Services["postgres"].Command, "wal_level=logical") {
		t.Errorf("postgres service does not set wal_level=logical: %v", compose.Services["postgres"].Command)
	}
	pg, ok := compose.Services["pgcdc"]
	if !ok || len(pg.Volumes) == 0 {
		t.Fatal("no pgcdc service with a mounted config")
	}
	for _, v := range append(pg.Volumes, compose.Services["postgres"].Volumes...) {
		host, _, _ := strings.Cut(v, ":")
		if _, err := os.Stat(filepath.Join("../examples", host)); err != nil {
			t.Errorf("volume %q: %v", v, err)
		}
	}
}
