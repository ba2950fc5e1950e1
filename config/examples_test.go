package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
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
			if strings.Contains(filepath.Base(f), "compose") {
				t.Skip("a docker compose file, not a pgcdc config")
			}
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
			if err := doc.Resolve(nil); err != nil {
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
