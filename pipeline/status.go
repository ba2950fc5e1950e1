package pipeline

// SinkStatus is what the pipeline knows of one sink while it runs.
type SinkStatus struct {
	Name string `json:"name"`
	// Acked is the id of the newest event the sink acknowledged (""
	// before the first): every event it was given up to that id is done
	// (delivered, or in a broadcast sink's replay buffer). Events its
	// filter left out were never given to it.
	Acked string `json:"acked"`
	// Queued is how many batches wait in the sink's inbox, of Capacity.
	Queued   int `json:"queued"`
	Capacity int `json:"capacity"`
}

// Status returns the state of every sink, in configuration order (empty
// fields before Run). Safe for concurrent use.
func (p *Pipeline) Status() []SinkStatus {
	out := make([]SinkStatus, len(p.outs))
	f := p.run.Load()
	for i, o := range p.outs {
		out[i] = SinkStatus{Name: o.Sink.Name(), Capacity: p.opts.SinkQueue}
		if f == nil {
			continue
		}
		out[i].Queued = len(f.inboxes[i])
		if a := f.acked[i].Load(); a != nil {
			e := Event{CommitLSN: a.lsn, Seq: a.seq}
			out[i].Acked = e.ID()
		}
	}
	return out
}
