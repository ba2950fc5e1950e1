package wiring

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/httpserver"
	"github.com/pgcdc/pgcdc/pipeline"
)

// endAtOnce is a source that ends as soon as it runs: the pipeline sets up
// its queues, closes the sinks' inboxes, and the sinks return.
type endAtOnce struct{}

func (endAtOnce) Run(context.Context, pipeline.Writer, pipeline.Progress) error { return nil }

// fuzzEnv is the environment configs are expanded with.
var fuzzEnv = config.MapEnv(map[string]string{
	"DATABASE_URL":   "postgres://pgcdc:pw@localhost:5432/app",
	"WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"JWT_SECRET":     "jwt",
})

// FuzzBuild feeds arbitrary bytes through everything pgcdc does with a
// config before it connects to PostgreSQL: decode, resolve (defaults and
// validation), then build the global transforms, every sink with its own
// transforms, and the pipeline, and run the pipeline on a source that
// ends at once (no network: nothing is delivered). The oracle: a config
// that validates builds and runs, except for what only the process can
// check (a dead-letter file that cannot be written, TLS files that do not
// load) — and nothing panics or hangs.
func FuzzBuild(f *testing.F) {
	for _, pattern := range []string{"../../config/testdata/*/*.yaml", "../../examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	base := "source: {dsn: postgres://x@localhost/db}\n"
	for _, s := range []string{
		// Values that once passed validation and then crashed.
		"sinks: [{type: sse, replay: {max_events: 4611686018427387905}}]\n",
		"pipeline: {sink_queue: 1000000000000}\nsinks: [{type: stdout}]\n",
		"pipeline: {sink_queue: 9223372036854775807}\nsinks: [{type: stdout}]\n",
		"sinks: [{type: sse, heartbeat: 1ns, write_timeout: 1ns}]\n",
		"sinks: [{type: webhook, url: \"http://localhost:1/x\", timeout: 1ns}]\n",
		"sinks: [{type: websocket, max_message_bytes: 1}]\n",
		"transforms: [{filter: {where: [\"a=in.(1,2)\"]}}]\nsinks: [{type: stdout, project: {include: [a]}}]\n",
	} {
		f.Add([]byte(base + s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := config.ParseDocument(data, "fuzz.yaml", fuzzEnv)
		if doc == nil || doc.Resolve(nil, config.NeedAll) != nil {
			return
		}
		cfg := doc.Config
		global, err := Transforms(cfg.Transforms)
		if err != nil {
			t.Fatalf("validated transforms do not build: %v", err)
		}
		log := discardLogger()
		srv, err := httpserver.New(cfg.Server, log)
		if err != nil {
			if !strings.Contains(err.Error(), "server.tls") {
				t.Fatalf("a validated server config does not build: %v", err)
			}
			return
		}
		outs, err := Outputs(cfg, Deps{Log: log, Catalog: pipeline.StaticCatalog(nil), Stdout: io.Discard,
			Server: srv, Version: "fuzz"})
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "dead_letter") && !strings.Contains(msg, "tls:") {
				t.Fatalf("a validated config does not build: %v", err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opts := PipelineOptions(cfg, log)
		opts.DrainTimeout = time.Second
		if err := pipeline.New(endAtOnce{}, global, outs, opts).Run(ctx); err != nil {
			t.Fatalf("the pipeline of a validated config fails: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("the pipeline did not stop when its source ended")
		}
	})
}
