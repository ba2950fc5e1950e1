package webhook

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// ReplayReport says what Replay did with a dead-letter file.
type ReplayReport struct {
	// Requests is the number of dead-letter lines read.
	Requests int
	// Accepted requests were answered 2xx and removed from the file.
	Accepted int
	// Failed requests (not accepted, unreadable, or not attempted because
	// ctx ended) are still in the file.
	Failed int
	// Events is the number of events in the accepted requests.
	Events int
}

// Replay sends every request of a dead-letter file once more to the sink
// configured by cfg (its current url, headers, secret and timeout): the
// same body and webhook-id as the original request, freshly signed, one
// attempt each, in file order. Requests answered 2xx are removed from the
// file; the others stay, so Replay can simply be run again. The file is
// rewritten atomically (a temporary file in the same directory, fsynced,
// renamed over it, directory fsynced) under the same lock the running sink
// takes to append, so replaying while pgcdc runs loses nothing. An empty
// path means cfg.DeadLetter.
//
// A line that cannot be read stays in the file and counts as failed. When
// ctx ends, the requests not yet attempted stay in the file and Replay
// returns ctx.Err() with the report so far.
func Replay(ctx context.Context, cfg Config, path string, logger *slog.Logger, opts ...Option) (ReplayReport, error) {
	var rep ReplayReport
	if path == "" {
		path = cfg.DeadLetter
	}
	if path == "" {
		return rep, fmt.Errorf("webhook sink %q has no dead_letter file configured: name the file to replay", cfg.Name)
	}
	s, err := New(cfg, logger, opts...)
	if err != nil {
		return rep, err
	}
	f, err := openLocked(ctx, path, os.O_RDWR)
	if err != nil {
		return rep, fmt.Errorf("replay dead-letter file %s: %w", path, err)
	}
	defer f.Close() // releases the lock, after the rename below

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".replay-*")
	if err != nil {
		return rep, fmt.Errorf("replay dead-letter file %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	kept := bufio.NewWriter(tmp)
	keep := func(line []byte) error {
		if _, err := kept.Write(line); err != nil {
			return err
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			return kept.WriteByte('\n')
		}
		return nil
	}

	rd := bufio.NewReaderSize(f, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, readErr := rd.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return rep, fmt.Errorf("replay dead-letter file %s: read line %d: %w", path, lineNo, readErr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			rep.Requests++
			if s.replayLine(ctx, line, lineNo, &rep) {
				rep.Accepted++
			} else {
				rep.Failed++
				if err := keep(line); err != nil {
					return rep, fmt.Errorf("replay dead-letter file %s: write %s: %w", path, tmp.Name(), err)
				}
			}
		}
		if readErr != nil {
			break
		}
	}

	if rep.Accepted > 0 {
		err := kept.Flush()
		if err == nil {
			err = tmp.Sync()
		}
		if err == nil {
			err = tmp.Close()
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			return rep, fmt.Errorf("replay dead-letter file %s: rewrite without the %d accepted requests: %w "+
				"(the file is unchanged; replaying it again re-sends them)", path, rep.Accepted, err)
		}
		renamed = true
		if err := syncDir(dir); err != nil {
			return rep, fmt.Errorf("replay dead-letter file %s: %w", path, err)
		}
	}
	s.log.Info("dead-letter replay done", "dead_letter", path, "requests", rep.Requests,
		"accepted", rep.Accepted, "failed", rep.Failed, "events", rep.Events)
	return rep, ctx.Err()
}

// replayLine sends the request of one dead-letter line once and reports
// whether the receiver accepted it.
func (s *Sink) replayLine(ctx context.Context, line []byte, lineNo int, rep *ReplayReport) bool {
	if ctx.Err() != nil {
		return false
	}
	req, err := requestFromLine(line)
	if err != nil {
		s.log.Warn("dead-letter line skipped: it stays in the file", "line", lineNo, "error", err)
		return false
	}
	res := s.attempt(ctx, req)
	if ctx.Err() != nil {
		return false
	}
	s.metrics.request(res.status)
	if !res.ok() {
		s.log.Warn("dead-letter request not accepted: it stays in the file", "line", lineNo,
			"webhook_id", req.id, "events", len(req.events), "reason", res.describe())
		return false
	}
	rep.Events += len(req.events)
	s.metrics.delivered.Add(float64(len(req.events)))
	return true
}

// requestFromLine rebuilds the request of a dead-letter line: the body in
// the format and shape it was first sent in, and its webhook-id.
func requestFromLine(line []byte) (*request, error) {
	var dl DeadLetter
	if err := json.Unmarshal(line, &dl); err != nil {
		return nil, fmt.Errorf("not a dead-letter record: %w", err)
	}
	if len(dl.Events) == 0 {
		return nil, errors.New("record has no events")
	}
	enc := encoder{array: dl.Batch, database: dl.Database}
	switch dl.Format {
	case formatEvent, "":
	case formatCloudEvents:
		enc.cloudEvents = true
	default:
		return nil, fmt.Errorf("unknown format %q", dl.Format)
	}
	if !enc.array && len(dl.Events) > 1 {
		return nil, fmt.Errorf("%d events in a record that is not a batch", len(dl.Events))
	}
	req := &request{contentType: enc.contentType(), events: make([][]byte, len(dl.Events))}
	body := enc.begin(nil)
	var first, last string
	for i, raw := range dl.Events {
		it, err := itemFromJSON(raw, enc.cloudEvents)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i+1, err)
		}
		if i == 0 {
			first = it.id
		}
		last = it.id
		body = enc.add(body, i, it)
		req.events[i] = raw
	}
	req.body = enc.end(body)
	req.lsn = first
	req.id = dl.WebhookID
	if req.id == "" {
		req.id = enc.batchID(first, last)
	}
	return req, nil
}
