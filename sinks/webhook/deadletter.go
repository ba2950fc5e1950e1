package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	retry "github.com/pgcdc/pgcdc/internal/backoff"
)

// DeadLetter is one line of the dead-letter file: a request the receiver
// did not accept. Replay rebuilds the same body from Events, Format, Batch
// and Database, so a replayed request carries the same webhook-id and bytes.
type DeadLetter struct {
	Time      time.Time `json:"time"`
	Sink      string    `json:"sink"`
	WebhookID string    `json:"webhook_id"`
	// Format is the body format, event or cloudevents; Batch says whether
	// the body was a JSON array; Database is the CloudEvents source's
	// database name.
	Format   string `json:"format"`
	Batch    bool   `json:"batch"`
	Database string `json:"database,omitempty"`
	// Status is the receiver's last HTTP status, 0 if it never answered.
	Status int `json:"status"`
	// Error says why the request was given up.
	Error string `json:"error"`
	// Response is an excerpt (at most 1 KiB) of the last response body.
	Response string `json:"response,omitempty"`
	Attempts int    `json:"attempts"`
	// Events are the events of the request, as delivered, in order.
	Events []json.RawMessage `json:"events"`
}

// encodeLine returns d as one JSON line. HTML escaping is off so that the
// embedded events keep their exact bytes.
func (d *DeadLetter) encodeLine() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// appendDeadLetter appends line to the file at path and fsyncs it (and its
// directory when the file is new). It holds the file's lock meanwhile, so
// a concurrent Replay never rewrites the file under it.
func appendDeadLetter(ctx context.Context, path string, line []byte) error {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := openLocked(ctx, path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("dead_letter %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("dead_letter %s: write: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dead_letter %s: fsync: %w", path, err)
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return fmt.Errorf("dead_letter %s: %w", path, err)
		}
	}
	return nil
}

// openLocked opens path with flag and takes an exclusive lock on it,
// polling until ctx ends. If the file at path was replaced while waiting
// (Replay renames a new one over it), it opens the new one instead.
func openLocked(ctx context.Context, path string, flag int) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, flag, 0o600)
		if err != nil {
			return nil, err
		}
		for {
			ok, err := tryLock(f)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("lock: %w", err)
			}
			if ok {
				break
			}
			if err := retry.Sleep(ctx, 20*time.Millisecond); err != nil {
				f.Close()
				return nil, err
			}
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close() // replaced meanwhile: lock the current file
		if err1 != nil {
			return nil, err1
		}
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, err2
		}
	}
}

// syncDir fsyncs a directory so that a created or renamed entry survives
// a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
