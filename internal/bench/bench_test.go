package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/pgcdc/pgcdc/internal/bench/benchtest"
)

func TestMain(m *testing.M) { benchtest.Main(m) }

// TestRun runs a small bench with each sink: both tools drain every row,
// the webhook receiver counts them all (signed, in order), and the report
// has a sane ratio, CPU time and peak RSS for both.
func TestRun(t *testing.T) {
	for _, o := range []Options{
		{Rows: 3000, TxnRows: 500, Repeat: 1, Sink: "stdout", MaxEvents: 500},
		{Rows: 3000, TxnRows: 500, Repeat: 2, Sink: "webhook", MaxEvents: 100, Sign: true},
		{Rows: 3000, TxnRows: 500, Repeat: 1, Sink: "nats", MaxEvents: 500},
	} {
		t.Run(o.Sink, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o.Binary = benchtest.Binary(t)
			var out bytes.Buffer
			if err := Run(ctx, &out, o); err != nil {
				t.Fatalf("bench: %v\n%s", err, out.String())
			}
			t.Logf("report:\n%s", out.String())
			report := out.String()
			runs := regexp.MustCompile(`run \d: .*slot confirmed (\S+), end (\S+?)[;)]`).FindAllStringSubmatch(report, -1)
			if len(runs) != o.Repeat {
				t.Fatalf("%d run lines, want %d", len(runs), o.Repeat)
			}
			for _, r := range runs {
				if r[1] < r[2] { // same-width LSNs in one short run: string order is LSN order
					t.Errorf("slot confirmed %s, before the end %s", r[1], r[2])
				}
			}
			if o.Sink == "nats" && !strings.Contains(report, "ratio nats sink / stdout sink") {
				t.Errorf("no nats / stdout ratio in the report")
			}
			if o.Sink == "webhook" && strings.Count(report, "webhook: 3000 events in 30 requests, in order") != o.Repeat {
				t.Errorf("the receiver did not get 3000 events in 30 requests per run")
			}
			for _, tool := range []string{"pg_recvlogical -P pgoutput", "pgcdc run ("} {
				m := regexp.MustCompile(regexp.QuoteMeta(tool) + `.*?\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\n`).FindStringSubmatch(report)
				if m == nil {
					t.Fatalf("no report line for %s", tool)
				}
				seconds, _ := strconv.ParseFloat(m[1], 64)
				cpu, _ := strconv.ParseFloat(m[3], 64)
				rss, _ := strconv.ParseFloat(m[4], 64)
				if seconds <= 0 || cpu <= 0 || rss < 1 || rss > 1024 {
					t.Errorf("%s: %s s, %s CPU s per 1M rows, %s MiB peak RSS: not sane", tool, m[1], m[3], m[4])
				}
			}
			m := regexp.MustCompile(`ratio pgcdc / pg_recvlogical \(rows/s\): ([\d.]+)`).FindStringSubmatch(report)
			if m == nil {
				t.Fatal("no ratio")
			}
			if ratio, _ := strconv.ParseFloat(m[1], 64); ratio <= 0 {
				t.Errorf("ratio %s", m[1])
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := Options{Rows: 1, TxnRows: 1, Repeat: 1, Sink: "stdout", MaxEvents: 1}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Sink = "kafka" }, `--sink is "kafka"`},
		{func(o *Options) { o.Rows = 0 }, "--rows"},
		{func(o *Options) { o.TxnRows = -1 }, "--txn-rows"},
		{func(o *Options) { o.Repeat = 0 }, "--repeat"},
		{func(o *Options) { o.Sink, o.MaxEvents = "webhook", 0 }, "--max-events"},
		{func(o *Options) { o.Sign = true }, "--sign apply to --sink webhook only"},
	} {
		o := good
		c.change(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error containing %q", o, err, c.want)
		}
	}
}

// FuzzCountEvents checks the one-pass counter against encoding/json: for a
// body that is valid JSON, it counts an object as one event and an array
// as its object elements; for an array it accepts, the array is complete.
func FuzzCountEvents(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `[{"id":"a"},{"id":"b","s":"}{\"]"}]`, `[]`, `[{"a":[{"b":1}]}]`, `[{"id":"a"`, `"x"`, ``, ` [ {} , {} ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := countEvents(b)
		if !json.Valid(b) {
			return // the counter does not validate JSON: pgcdc's bodies are valid
		}
		var arr []json.RawMessage
		switch trimmed := bytes.TrimSpace(b); {
		case len(trimmed) > 0 && trimmed[0] == '{':
			if err != nil || n != 1 {
				t.Fatalf("countEvents(%q) = %d, %v; want 1", b, n, err)
			}
		case json.Unmarshal(b, &arr) == nil:
			want := 0
			for _, e := range arr {
				if bytes.HasPrefix(bytes.TrimSpace(e), []byte("{")) {
					want++
				}
			}
			if err != nil || n != want {
				t.Fatalf("countEvents(%q) = %d, %v; want %d", b, n, err, want)
			}
		default:
			if err == nil {
				t.Fatalf("countEvents(%q) = %d: a JSON value that is neither an object nor an array was accepted", b, n)
			}
		}
	})
}

// The flags parse into Options with the documented defaults.
func TestFlags(t *testing.T) {
	var o Options
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if want := (Options{Rows: 1_000_000, TxnRows: 1000, Repeat: 1, Sink: "stdout", MaxEvents: 500}); o != want {
		t.Errorf("defaults %+v, want %+v", o, want)
	}
	if err := fs.Parse([]string{"--rows", "50000", "--repeat", "2", "--sink", "webhook", "--max-events", "1", "--sign"}); err != nil {
		t.Fatal(err)
	}
	if want := (Options{Rows: 50000, TxnRows: 1000, Repeat: 2, Sink: "webhook", MaxEvents: 1, Sign: true}); o != want {
		t.Errorf("parsed %+v, want %+v", o, want)
	}
}
