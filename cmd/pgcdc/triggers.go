package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/source"
	"github.com/pgcdc/pgcdc/source/triggers"
)

// newTriggersCmd is `pgcdc triggers install|uninstall|status`: the outbox
// and capture triggers of source.type triggers.
func newTriggersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "triggers", Short: "Install, uninstall or inspect the capture triggers and outbox of source.type triggers"}
	objects := func(cfg *config.Config) triggers.Objects {
		return triggers.Objects{Schema: cfg.Source.Triggers.Schema}
	}
	var printSQL, force bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Create the schema, outbox, functions and triggers for the tables of source.tables (idempotent)",
		Long: `Create the schema, outbox, functions and triggers for the tables of source.tables.
Running it again is harmless, and adds the triggers to tables created since.
Needs CREATE on the database (for the schema) and the TRIGGER privilege on
each table; --print-sql prints the SQL for a DBA to run instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
				o := objects(cfg)
				wake := cfg.Source.Triggers.Wake != config.WakePoll
				if printSQL {
					tables, err := o.MatchingTables(ctx, conn, cfg.Source.Tables)
					if err != nil {
						return err
					}
					fmt.Fprint(cmd.OutOrStdout(), o.InstallSQL(tables, wake))
					return nil
				}
				tables, _, err := o.Install(ctx, conn, cfg.Source.Tables, wake)
				if err != nil {
					return err
				}
				names := make([]string, len(tables))
				for i, t := range tables {
					names[i] = t.String()
				}
				fmt.Fprintf(cmd.OutOrStdout(), "installed %s and the triggers on %d table(s): %s\n", o.OutboxName(), len(tables), strings.Join(names, ", "))
				return nil
			})
		},
	}
	install.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL instead of running it")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Drop the triggers from every captured table, the functions, the outbox and the schema",
		Long: `Drop the triggers from every captured table, the functions, the outbox and
its schema. Refuses while the outbox holds rows no sink has acknowledged
(--force drops them). Dropping a trigger needs ownership of its table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
				o := objects(cfg)
				if printSQL {
					tables, err := o.CapturedTables(ctx, conn)
					if err != nil {
						return err
					}
					fmt.Fprint(cmd.OutOrStdout(), o.UninstallSQL(tables))
					return nil
				}
				tables, _, err := o.Uninstall(ctx, conn, force)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "uninstalled: triggers dropped from %d table(s), %s and its schema dropped\n", len(tables), o.OutboxName())
				return nil
			})
		},
	}
	uninstall.Flags().BoolVar(&printSQL, "print-sql", false, "print the SQL instead of running it")
	uninstall.Flags().BoolVar(&force, "force", false, "drop the outbox even if it holds changes not yet delivered (they are lost)")
	status := &cobra.Command{
		Use:   "status",
		Short: "Show each table's triggers, the outbox backlog and the relay working on it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, _ source.Config, conn *pgx.Conn) error {
				o := objects(cfg)
				st, err := o.Status(ctx, conn, cfg.Source.Tables)
				if err != nil {
					return err
				}
				return printStatus(cmd, o, st)
			})
		},
	}
	for _, c := range []*cobra.Command{install, uninstall, status} {
		cmd.AddCommand(c)
	}
	return cmd
}

// printStatus prints st; it fails when a matching table is not captured
// or the outbox is missing, so that scripts can check.
func printStatus(cmd *cobra.Command, o triggers.Objects, st *triggers.Status) error {
	out := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tCAPTURE\tTRUNCATE\tWAKE\tIN_SOURCE_TABLES")
	missing := 0
	for _, t := range st.Tables {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", t.Table, t.Capture, t.Truncate, t.Wake, t.Matched)
		if t.Matched && !t.Captured() {
			missing++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !st.Installed {
		return fmt.Errorf("the outbox %s does not exist: run pgcdc triggers install", o.OutboxName())
	}
	fmt.Fprintf(out, "outbox %s: %d row(s) in %d transaction(s) not yet acknowledged", o.OutboxName(), st.Rows, st.Transactions)
	if st.Rows > 0 {
		fmt.Fprintf(out, ", oldest %s ago, %d held back by an open transaction", st.Oldest.Round(time.Millisecond), st.HeldBack)
	}
	fmt.Fprintln(out)
	if st.Relay != nil {
		fmt.Fprintf(out, "relay: pid %d (%s, %s), connected since %s\n", st.Relay.PID, dash(st.Relay.Application), st.Relay.Client, st.Relay.Since.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintln(out, "relay: none running (pgcdc run with source.type: triggers delivers the outbox)")
	}
	if missing > 0 {
		return fmt.Errorf("%d table(s) of source.tables are not captured: run pgcdc triggers install", missing)
	}
	return nil
}
