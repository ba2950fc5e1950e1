package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// testEnv is the environment the testdata files are expanded with.
var testEnv = map[string]string{
	"DATABASE_URL":   "postgres://pgcdc:db-s3cret@localhost:5432/app",
	"WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}

// secrets must never appear in an error message.
var secrets = []string{"db-s3cret", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "t0ps3cret", "forged", "line\nbreak", "s3cret pw"}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// resolveFile loads path with testEnv and resolves it without overrides:
// every problem, from decoding to validation, in one pass.
func resolveFile(path string) (*Config, error) {
	doc, err := LoadDocument(path, MapEnv(testEnv))
	if doc == nil {
		return nil, err
	}
	if err := doc.Resolve(nil, NeedAll); err != nil {
		return doc.Config, err
	}
	return doc.Config, nil
}

// TestGoodConfigs loads each testdata/good/*.yaml and compares the
// effective configuration, after defaults, with its .golden file. The
// printed configuration must decode back to the same value.
func TestGoodConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := resolveFile(f)
			if err == nil && cfg == nil {
				t.Fatal("no config")
			}
			if err != nil {
				t.Fatalf("want no error, got:\n%v", err)
			}
			out, err := Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", string(out))

			// Marshal's output must load back to the same configuration,
			// with no variable set: it holds no ${VAR}.
			back, err := Parse(out, "printed.yaml", nil)
			if err != nil {
				t.Fatalf("printed config does not load: %v\n%s", err, out)
			}
			back.SetDefaults()
			if !reflect.DeepEqual(normalize(back), normalize(cfg)) {
				t.Errorf("printed config decodes to a different value:\n%s", out)
			}
		})
	}
}

// normalize makes empty and nil slices and maps compare equal, as YAML
// cannot tell them apart.
func normalize(c *Config) *Config {
	c = c.deepCopyForTest()
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Map:
			if v.Len() == 0 {
				v.Set(reflect.Zero(v.Type()))
				return
			}
			if v.Kind() == reflect.Slice {
				for i := range v.Len() {
					walk(v.Index(i))
				}
			}
		}
	}
	walk(reflect.ValueOf(c).Elem())
	return c
}

func (c *Config) deepCopyForTest() *Config {
	return deepCopy(reflect.ValueOf(c)).Interface().(*Config)
}

// TestBadConfigs loads each testdata/bad/*.yaml and compares the error
// with its .golden file. No message may hold a secret.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := resolveFile(f)
			if err == nil {
				t.Fatal("want an error, got none")
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("want Errors, got %T: %v", err, err)
			}
			msg := err.Error()
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error message reveals secret %q:\n%s", s, msg)
				}
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", msg+"\n")
		})
	}
}
