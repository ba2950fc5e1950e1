package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

func newSnapshotCmd() *cobra.Command {
	var table, sink string
	var where []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "snapshot --table schema.table",
		Short: "Ask the running pgcdc to send the current rows of a table (all sinks, or one)",
		Long: `snapshot asks the pgcdc reading the configured slot to send the rows of a
table as read events, while streaming goes on: through the WAL (a logical
decoding message the slot reader sees), so no network path to the daemon is
needed, and a daemon that is down does it when it starts. --sink sends them
to that sink only; --where to the matching rows only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if table == "" {
				return withCode(exitUsage, fmt.Errorf("--table is required, e.g. --table public.orders"))
			}
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error {
				cat, err := source.LoadCatalog(ctx, conn, cfg.Source.Publication)
				if err != nil {
					return err
				}
				req, err := wiring.SnapshotRequest(cfg, cat, table, where, sink)
				if err != nil {
					return withCode(exitUsage, err)
				}
				id, err := source.RequestSnapshot(ctx, conn, cfg.Source.Slot, req)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "snapshot %s requested: %s.%s for %s on slot %q\n", id, req.Schema, req.Table, sinkName(req.Sink), cfg.Source.Slot)
				if !wait {
					return nil
				}
				return waitSnapshot(ctx, conn, id)
			})
		},
	}
	cmd.Flags().StringVar(&table, "table", "", "the table, schema.table (one of the publication's)")
	cmd.Flags().StringArrayVar(&where, "where", nil, "only rows matching this filter (column=op.value; repeat to AND)")
	cmd.Flags().StringVar(&sink, "sink", "", "send the rows to this sink only (default: every sink)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the snapshot is done, showing its progress")
	addNameFlags(cmd)
	return cmd
}

func sinkName(s string) string {
	if s == "" {
		return "every sink"
	}
	return "sink " + s
}

// waitSnapshot shows a job's progress until it ends: a progress bar when
// stderr is a terminal, a line every few seconds otherwise.
func waitSnapshot(ctx context.Context, conn *pgx.Conn, id string) error {
	var bar *progressbar.ProgressBar
	lastLine := time.Time{}
	for {
		st, err := source.LookupSnapshot(ctx, conn, id)
		if err != nil {
			return err
		}
		if term.IsTerminal(int(os.Stderr.Fd())) {
			if bar == nil {
				bar = progressbar.NewOptions64(max(st.Estimate, 1), progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription(st.Table), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("rows"), progressbar.OptionThrottle(200*time.Millisecond))
			}
			if st.Rows > bar.GetMax64() {
				bar.ChangeMax64(st.Rows)
			}
			_ = bar.Set64(st.Rows)
		} else if time.Since(lastLine) > 5*time.Second || st.State == "done" {
			lastLine = time.Now()
			fmt.Fprintf(os.Stderr, "snapshot %s: %s, %d rows (estimate %d), %d chunks\n", id, st.State, st.Rows, st.Estimate, st.Chunks)
		}
		switch st.State {
		case "done":
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(os.Stderr)
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
