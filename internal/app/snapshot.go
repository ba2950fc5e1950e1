package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

// UsageError marks a mistake on the command line (cmd exits 64).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// RequestSnapshot checks a pgcdc snapshot request against the config and
// the published tables, records it and tells the running pgcdc (through
// the WAL), and returns the job's id.
func RequestSnapshot(ctx context.Context, out io.Writer, cfg *config.Config, conn *pgx.Conn, table string, where []string, sink string) (string, error) {
	cat, err := source.LoadCatalog(ctx, conn, cfg.Source.Publication)
	if err != nil {
		return "", err
	}
	req, err := wiring.SnapshotRequest(cfg, cat, table, where, sink)
	if err != nil {
		return "", &UsageError{err}
	}
	id, err := source.RequestSnapshot(ctx, conn, cfg.Source.Slot, req)
	if err != nil {
		return "", err
	}
	to := "every sink"
	if req.Sink != "" {
		to = "sink " + req.Sink
	}
	fmt.Fprintf(out, "snapshot %s requested: %s.%s for %s on slot %q\n", id, req.Schema, req.Table, to, cfg.Source.Slot)
	return id, nil
}

// WaitSnapshot shows a job's progress until it ends: a progress bar when
// stderr is a terminal, a line every few seconds otherwise.
func WaitSnapshot(ctx context.Context, w *os.File, conn *pgx.Conn, id string) error {
	var bar *progressbar.ProgressBar
	lastLine := time.Time{}
	for {
		st, err := source.LookupSnapshot(ctx, conn, id)
		if err != nil {
			return err
		}
		if term.IsTerminal(int(w.Fd())) {
			if bar == nil {
				bar = progressbar.NewOptions64(max(st.Estimate, 1), progressbar.OptionSetWriter(w),
					progressbar.OptionSetDescription(st.Table), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("rows"), progressbar.OptionThrottle(200*time.Millisecond))
			}
			if st.Rows > bar.GetMax64() {
				bar.ChangeMax64(st.Rows)
			}
			_ = bar.Set64(st.Rows)
		} else if time.Since(lastLine) > 5*time.Second || st.State == "done" {
			lastLine = time.Now()
			fmt.Fprintf(w, "snapshot %s: %s, %d rows (estimate %d), %d chunks\n", id, st.State, st.Rows, st.Estimate, st.Chunks)
		}
		switch st.State {
		case "done":
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(w)
			}
			return nil
		case "failed":
			return fmt.Errorf("snapshot %s failed: %s", id, st.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
