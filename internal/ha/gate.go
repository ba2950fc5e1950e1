package ha

import (
	"context"

	"github.com/pgcdc/pgcdc/pipeline"
)

type leaseKey struct{}

// NewContext returns ctx carrying e, the lease the pipeline run under ctx
// holds (GateOutputs).
func NewContext(ctx context.Context, e *Elector) context.Context {
	return context.WithValue(ctx, leaseKey{}, e)
}

// GateOutputs makes every sink's acknowledgement count only while the
// lease in ctx (NewContext) is valid: nothing is confirmed upstream after
// the lease is lost, and the sinks stop at once (their Run returns
// ErrLost). Without a lease in ctx it returns outs as they are.
func GateOutputs(ctx context.Context, outs []pipeline.Output) []pipeline.Output {
	e, ok := ctx.Value(leaseKey{}).(*Elector)
	if !ok {
		return outs
	}
	gated := make([]pipeline.Output, len(outs))
	for i, o := range outs {
		gated[i] = pipeline.Output{Sink: &gatedSink{Sink: o.Sink, lease: e, lost: e.Lost()}, Transform: o.Transform}
	}
	return gated
}

// gatedSink passes batches to its sink with acks that are dropped once
// the lease is not valid, and fails when the lease is lost.
type gatedSink struct {
	pipeline.Sink
	lease *Elector
	lost  <-chan struct{}
}

func (g *gatedSink) Ready() bool {
	r, ok := g.Sink.(pipeline.Readier)
	return g.lease.Valid() && (!ok || r.Ready())
}

func (g *gatedSink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	inner := make(chan *pipeline.Batch, cap(in))
	done := make(chan error, 1)
	go func() { done <- g.Sink.Run(ctx, inner) }()
	defer func() {
		if inner != nil {
			close(inner)
		}
	}()
	for {
		select {
		case b, ok := <-in:
			if !ok {
				close(inner)
				inner = nil
				return <-done
			}
			orig := b
			gb := pipeline.NewBatch(b.Events, b.End, func() {
				if g.lease.Valid() {
					orig.Ack()
				}
			})
			gb.Bytes = b.Bytes
			select {
			case inner <- gb:
			case err := <-done:
				return err
			case <-g.lost:
				return ErrLost
			}
		case err := <-done:
			return err
		case <-g.lost:
			return ErrLost
		}
	}
}
