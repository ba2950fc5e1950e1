package live

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Help is the long help of pgcdc bench live.
const Help = `live starts a throwaway PostgreSQL (synchronous_commit=on) with a table ticks,
then for each client count and protocol: starts 'pgcdc run' as a child
process with one sse sink (/events) and one websocket sink (/ws), connects
--clients idle clients (measuring the child's memory per idle connection),
commits --rate single-row transactions per second for --warmup plus
--duration, and waits up to --drain for the clients to receive everything.

Every client checks that it receives every event once, in commit order, and
records commit→receive latency (its clock minus the event's commit_time) for
the events committed after the warmup. The clients run in this process: they
share the machine's CPUs with pgcdc and PostgreSQL, so the figures include
their cost. Reported per run: latency percentiles (bucket upper bounds, ±6%;
events that never arrived count as over 10 s), the achieved commit rate,
deliveries, clients with errors, pgcdc's CPU seconds per million deliveries
and its RSS. --clients takes a comma list for a sweep; the report ends with
the largest client count whose p99 stayed under 100 ms. With --tenants N,
each run is followed by the same run scoped (proto sse+auth, websocket+auth):
server.auth mode jwt with the forced filter tenant_id=eq.{claims.tenant_id},
client i holding a token of tenant i%N, and the writer's rows spread over
the N tenants, so that each client receives about 1/N of the events: compare
the CPU per delivery (s/1M) and deliv/s, not the totals.`

// AddFlags defines the flags of pgcdc bench live on fs, with their
// defaults, bound to o.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Protos, o.Clients = []string{"sse", "websocket"}, []int{1000}
	fs.Var((*protosFlag)(&o.Protos), "proto", "sse, websocket or both (one after the other)")
	fs.Var((*clientsFlag)(&o.Clients), "clients", "clients per run; a comma list runs a sweep (1000,2000,5000,10000)")
	fs.IntVar(&o.Rate, "rate", 1000, "committed single-row transactions per second")
	fs.IntVar(&o.Writers, "writers", 4, "writer connections sharing --rate")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "measured time per run, after the warmup")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "traffic before the measured window; its events are not measured")
	fs.DurationVar(&o.Drain, "drain", 30*time.Second, "longest wait for the clients to catch up once the writer stops")
	fs.IntVar(&o.Tenants, "tenants", 0, "N > 0: after each run, the same run scoped: a forced tenant_id filter, client i with a token of tenant i%N, rows spread over N tenants")
	fs.StringVar(&o.Binary, "binary", "", "the pgcdc executable to measure (default: this one)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the pgcdc child's CPU profile here (the last run's)")
	_ = fs.MarkHidden("cpuprofile")
	fs.IntVar(&o.Edges, "edges", 0, "serve the clients from this many 'pgcdc edge' processes reading a NATS stream that the run child writes to its embedded JetStream server; --clients is then per edge (0: the run child serves them)")
}

// protosFlag is --proto: sse, websocket or both.
type protosFlag []string

func (p *protosFlag) Type() string { return "sse|websocket|both" }

func (p *protosFlag) String() string {
	if len(*p) == 2 {
		return "both"
	}
	return strings.Join(*p, ",")
}

func (p *protosFlag) Set(s string) error {
	switch s {
	case "both":
		*p = []string{"sse", "websocket"}
	case "sse", "websocket":
		*p = []string{s}
	default:
		return fmt.Errorf("want sse, websocket or both")
	}
	return nil
}

// clientsFlag is --clients: a client count or a comma list of them.
type clientsFlag []int

func (c *clientsFlag) Type() string { return "counts" }

func (c *clientsFlag) String() string {
	s := make([]string, len(*c))
	for i, n := range *c {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (c *clientsFlag) Set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("%q is not a positive number (want e.g. 1000 or 1000,2000,5000)", f)
		}
		out = append(out, n)
	}
	*c = out
	return nil
}
