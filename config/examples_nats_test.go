package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestScaleOutComposeExample checks examples/scale-out: three NATS nodes
// with JetStream routed to each other, two slot readers with the same
// config, two edges, and every mounted file present.
func TestScaleOutComposeExample(t *testing.T) {
	dir := "../examples/scale-out"
	data, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
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
	var nats, runs, edges int
	for name, s := range compose.Services {
		switch {
		case strings.HasPrefix(name, "nats-"):
			nats++
			if !slices.Contains(s.Command, "-js") || !slices.Contains(s.Command, "--routes") {
				t.Errorf("%s: not a JetStream cluster member: %v", name, s.Command)
			}
		case len(s.Command) > 0 && s.Command[0] == "run":
			runs++
		case len(s.Command) > 0 && s.Command[0] == "edge":
			edges++
		}
		for _, v := range s.Volumes {
			host, _, _ := strings.Cut(v, ":")
			if _, err := os.Stat(filepath.Join(dir, host)); err != nil {
				t.Errorf("%s: volume %q: %v", name, v, err)
			}
		}
	}
	if nats != 3 || runs != 2 || edges != 2 {
		t.Errorf("%d nats nodes, %d slot readers, %d edges; want 3, 2 and 2", nats, runs, edges)
	}
}
