package stdout

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/sinktest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestConformance(t *testing.T) {
	bufs := map[pipeline.Sink]*lockedBuffer{}
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) pipeline.Sink {
			b := &lockedBuffer{}
			s := New("out", b)
			bufs[s] = b
			return s
		},
		Delivered: func(t *testing.T, s pipeline.Sink) []string {
			b := bufs[s]
			b.mu.Lock()
			defer b.mu.Unlock()
			var ids []string
			for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
				var e struct{ ID string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				ids = append(ids, e.ID)
			}
			return ids
		},
	})
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestWriteErrorIsFatalAndNotAcked(t *testing.T) {
	s := New("out", failWriter{})
	acked := false
	in := make(chan *pipeline.Batch, 1)
	b := sinktest.Batches(1, 1)[0]
	in <- pipeline.NewBatch(b.Events, b.End, func() { acked = true })
	close(in)
	err := s.Run(t.Context(), in)
	if err == nil || !strings.Contains(err.Error(), "stdout closed") {
		t.Fatalf("Run = %v, want the write error", err)
	}
	if acked {
		t.Fatal("a batch that was not written was acknowledged")
	}
}
