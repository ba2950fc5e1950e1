package bench

import "github.com/spf13/pflag"

// Help is the long help of pgcdc bench.
const Help = `bench starts a throwaway PostgreSQL, inserts --rows narrow rows in transactions
of --txn-rows, and drains the same WAL twice per repeat, through two slots
created at the same point: once with pg_recvlogical -P pgoutput (to /dev/null)
and once with 'pgcdc run --until-lsn'. With --sink stdout (the default) pgcdc
writes to /dev/null; with --sink webhook it POSTs to a receiver that bench
runs on 127.0.0.1 (answering 204 and counting the events, checked against
--rows), in requests of up to --max-events events, signed with --sign; with
--sink nats it publishes to a JetStream server embedded in the pgcdc process
(file storage, a fresh one per repeat; the stream is checked to hold every
row) and also drains the WAL with the stdout sink, for the ratio between them. It
prints rows/s for each, their ratio, CPU seconds per million events and peak
RSS of the drain process (the receiver's CPU is not counted).`

// AddFlags defines the flags of pgcdc bench on fs, with their defaults,
// bound to o.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Rows, "rows", 1_000_000, "rows to insert")
	fs.IntVar(&o.TxnRows, "txn-rows", 1000, "rows per transaction")
	fs.IntVar(&o.Repeat, "repeat", 1, "drain runs of each tool, alternating")
	fs.StringVar(&o.Sink, "sink", "stdout", "pgcdc's sink: stdout (to /dev/null), webhook (a local receiver) or nats (an embedded JetStream server; the stdout sink is timed too)")
	fs.IntVar(&o.MaxEvents, "max-events", 500, "webhook batch.max_events: events per request")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write pgcdc run's CPU profile of the last repeat here")
	_ = fs.MarkHidden("cpuprofile")
	fs.BoolVar(&o.Sign, "sign", false, "webhook: sign requests (Standard Webhooks) and verify them in the receiver")
}
