package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

// withDB loads the config and opens an ordinary connection to its database.
// fn gets the config and the source's settings (with the config path, for
// hints).
func withDB(cmd *cobra.Command, fn func(ctx context.Context, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error) error {
	l, err := loadConfig(cmd, config.NeedSource)
	if err != nil {
		return err
	}
	cfg := l.cfg
	l.logWarnings(app.NewLogger(cfg.Log))
	scfg := wiring.SourceConfig(cfg)
	scfg.ConfigPath = l.path
	ctx := cmd.Context()
	connector, err := source.NewConnector(cfg.Source.DSN)
	if err != nil {
		return err
	}
	conn, err := connector.SQL(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return fn(ctx, cfg, scfg, conn)
}

// dbCmd is a command without arguments that runs fn against the database.
func dbCmd(use, short string, fn func(cmd *cobra.Command, ctx context.Context, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		return withDB(cmd, func(ctx context.Context, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error {
			return fn(cmd, ctx, cfg, scfg, conn)
		})
	}}
	addNameFlags(c)
	return c
}

func newCheckCmd() *cobra.Command {
	return dbCmd("check", "Preflight against the database: wal_level, REPLICATION, slot, publication, replica identity, filters",
		func(cmd *cobra.Command, ctx context.Context, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error {
			return app.Check(ctx, cmd.OutOrStdout(), cfg, scfg, conn)
		})
}

func newSlotCmd() *cobra.Command {
	var printSQL bool
	create := dbCmd("create", "Create the configured slot (pgoutput)", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, scfg source.Config, conn *pgx.Conn) error {
		return app.CreateSlot(ctx, cmd.OutOrStdout(), scfg, conn)
	})
	// --print-sql needs no database.
	run := create.RunE
	create.RunE = func(cmd *cobra.Command, args []string) error {
		if !printSQL {
			return run(cmd, args)
		}
		l, err := loadConfig(cmd, config.NeedSource)
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), source.CreateSlotSQL(l.cfg.Source.Slot))
		return nil
	}
	create.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL (for a DBA to run as a role with REPLICATION) and do nothing")
	cmd := &cobra.Command{Use: "slot", Short: "Create, drop or list logical replication slots"}
	cmd.AddCommand(create,
		dbCmd("drop", "Drop the configured slot (PostgreSQL then frees the WAL it holds)", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, scfg source.Config, conn *pgx.Conn) error {
			return app.DropSlot(ctx, cmd.OutOrStdout(), scfg, conn)
		}),
		dbCmd("list", "List replication slots with plugin, state, confirmed LSN and retained WAL", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, _ source.Config, conn *pgx.Conn) error {
			return app.ListSlots(ctx, cmd.OutOrStdout(), conn)
		}))
	return cmd
}

func newPublicationCmd() *cobra.Command {
	var printSQL bool
	create := dbCmd("create", "Create the configured publication for source.tables, or add the matching tables it lacks", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, scfg source.Config, conn *pgx.Conn) error {
		return app.CreatePublication(ctx, cmd.OutOrStdout(), scfg, conn, printSQL)
	})
	create.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL (for a DBA to run) and do nothing")
	cmd := &cobra.Command{Use: "publication", Short: "Create, drop or list publications"}
	cmd.AddCommand(create,
		dbCmd("drop", "Drop the configured publication", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, scfg source.Config, conn *pgx.Conn) error {
			return app.DropPublication(ctx, cmd.OutOrStdout(), scfg, conn)
		}),
		dbCmd("list", "List publications with their operations and tables", func(cmd *cobra.Command, ctx context.Context, _ *config.Config, _ source.Config, conn *pgx.Conn) error {
			return app.ListPublications(ctx, cmd.OutOrStdout(), conn)
		}))
	return cmd
}
