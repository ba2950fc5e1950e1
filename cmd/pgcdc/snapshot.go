package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
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
				id, err := app.RequestSnapshot(ctx, cmd.OutOrStdout(), cfg, conn, table, where, sink)
				var ue *app.UsageError
				if errors.As(err, &ue) {
					return withCode(exitUsage, ue.Err)
				}
				if err != nil || !wait {
					return err
				}
				return app.WaitSnapshot(ctx, os.Stderr, conn, id)
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
