package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through the whole sequence: decode,
// overrides, defaults, validation, locating, redaction and printing. Any
// error is fine; a panic is not.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/*/*.yaml", "../examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nsource: *a\n"))
	f.Add([]byte("sinks: [{<<: {type: sse}}]\n"))
	env := MapEnv(testEnv)
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseDocument(data, "fuzz.yaml", env)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		err = doc.Resolve([]string{"PGCDC_SINKS_0_URL=http://x", "PGCDC_LOG_LEVEL=debug"}, NeedAll)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		if _, err := Marshal(doc.Config.Redacted()); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}
