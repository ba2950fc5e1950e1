// Package stdout is the stdout sink: one JSON event per line. It is
// durable in the sense of ARCHITECTURE §3: a batch is acknowledged only
// after its lines were written to the underlying writer.
package stdout

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Sink writes events as JSON lines.
type Sink struct {
	name string
	w    io.Writer
}

var _ pipeline.Sink = (*Sink)(nil)

// New returns a sink named name writing to w (os.Stdout in pgcdc run).
func New(name string, w io.Writer) *Sink { return &Sink{name: name, w: w} }

// Name implements pipeline.Sink.
func (s *Sink) Name() string { return s.name }

// flushBytes is how much the sink buffers before it must write.
const flushBytes = 256 << 10

// Run implements pipeline.Sink. It coalesces the batches that are already
// waiting into one write, then acknowledges them.
func (s *Sink) Run(ctx context.Context, in <-chan *pipeline.Batch) error {
	bw := bufio.NewWriterSize(s.w, flushBytes)
	var pending []*pipeline.Batch
	flush := func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write to stdout: %w", err)
		}
		for _, b := range pending {
			b.Ack()
		}
		pending = pending[:0]
		return nil
	}
	for {
		var b *pipeline.Batch
		var ok bool
		select {
		case b, ok = <-in:
		default:
			// Nothing waiting: make what we have visible before blocking.
			if err := flush(); err != nil {
				return err
			}
			select {
			case b, ok = <-in:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !ok {
			return flush()
		}
		for _, e := range b.Events {
			if bw.Available() < len(e.Encoded())+1 && bw.Buffered() > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			_, _ = bw.Write(e.Encoded())
			_ = bw.WriteByte('\n')
		}
		pending = append(pending, b)
	}
}
