package main

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/source"
)

// newTriggersCmd is `pgcdc triggers install|uninstall|status`: the outbox
// and capture triggers of source.type triggers.
func newTriggersCmd() *cobra.Command {
	var printSQL, force bool
	install := dbCmd("install", "Create the schema, outbox, functions and triggers for the tables of source.tables (idempotent)",
		func(cmd *cobra.Command, ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
			return app.TriggersInstall(ctx, cmd.OutOrStdout(), cfg, conn, printSQL)
		})
	install.Long = `Create the schema, outbox, functions and triggers for the tables of source.tables.
Running it again is harmless, and adds the triggers to tables created since.
Needs CREATE on the database (for the schema) and the TRIGGER privilege on
each table; --print-sql prints the SQL for a DBA to run instead.`
	install.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL instead of running it")
	uninstall := dbCmd("uninstall", "Drop the triggers from every captured table, the functions, the outbox and the schema",
		func(cmd *cobra.Command, ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
			return app.TriggersUninstall(ctx, cmd.OutOrStdout(), cfg, conn, printSQL, force)
		})
	uninstall.Long = `Drop the triggers from every captured table, the functions, the outbox and
its schema. Refuses while the outbox holds rows no sink has acknowledged
(--force drops them). Dropping a trigger needs ownership of its table.`
	uninstall.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL instead of running it")
	uninstall.Flags().BoolVar(&force, "force", false, "drop the outbox even if it holds changes not yet delivered (they are lost)")
	status := dbCmd("status", "Show each table's triggers, the outbox backlog and the relay working on it",
		func(cmd *cobra.Command, ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
			return app.TriggersStatus(ctx, cmd.OutOrStdout(), cfg, conn)
		})
	cmd := &cobra.Command{Use: "triggers", Short: "Install, uninstall or inspect the capture triggers and outbox of source.type triggers"}
	cmd.AddCommand(install, uninstall, status)
	return cmd
}
