package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

// withDB loads the config and opens an ordinary connection to its database.
// fn gets the source's settings (with the config path, for hints).
func withDB(cmd *cobra.Command, fn func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error) error {
	cfg, path, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	scfg := wiring.SourceConfig(cfg)
	scfg.ConfigPath = path
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
	return fn(ctx, scfg, conn)
}

func newCheckCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Preflight against the database: wal_level, REPLICATION, slot, publication, replica identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error {
				findings, err := source.Preflight(ctx, conn, cfg)
				if err != nil {
					return err
				}
				failed := 0
				out := cmd.OutOrStdout()
				for _, f := range findings {
					line := fmt.Sprintf("%-5s %s: %s", strings.ToUpper(string(f.Severity)), f.Check, f.Detail)
					if f.Fix != "" && f.Severity != source.SevOK {
						line += "\n      fix: " + f.Fix
					}
					fmt.Fprintln(out, line)
					if f.Severity == source.SevError {
						failed++
					}
				}
				if failed > 0 {
					return fmt.Errorf("%d check(s) failed", failed)
				}
				return nil
			})
		},
	}
	addNameFlags(cmd)
	return cmd
}

func newSlotCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "slot", Short: "Create, drop or list logical replication slots"}
	var slotSQL bool
	create := &cobra.Command{
		Use: "create", Short: "Create the configured slot (pgoutput)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if slotSQL {
				cfg, _, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), source.CreateSlotSQL(cfg.Source.Slot))
				return nil
			}
			return withDB(cmd, func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error {
				created, err := source.CreateSlot(ctx, conn, cfg.Slot)
				if err != nil {
					return err
				}
				if !created {
					fmt.Fprintf(cmd.OutOrStdout(), "slot %q already exists\n", cfg.Slot)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created slot %q\n", cfg.Slot)
				return nil
			})
		},
	}
	create.Flags().BoolVar(&slotSQL, "print-sql", false, "print the SQL (for a DBA to run as a role with REPLICATION) and do nothing")
	drop := &cobra.Command{
		Use: "drop", Short: "Drop the configured slot (PostgreSQL then frees the WAL it holds)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error {
				dropped, err := source.DropSlot(ctx, conn, cfg.Slot)
				if err != nil {
					return err
				}
				if !dropped {
					fmt.Fprintf(cmd.OutOrStdout(), "slot %q does not exist\n", cfg.Slot)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dropped slot %q\n", cfg.Slot)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List replication slots with plugin, state, confirmed LSN and retained WAL", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, _ source.Config, conn *pgx.Conn) error {
				slots, err := source.ListSlots(ctx, conn)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPLUGIN\tDATABASE\tACTIVE\tCONFIRMED_LSN\tRETAINED_WAL\tWAL_STATUS")
				for _, s := range slots {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%s\n", s.Name, dash(s.Plugin), dash(s.Database), s.Active, dash(s.Confirmed), dash(s.RetainedWAL), dash(s.WALStatus))
				}
				return tw.Flush()
			})
		},
	}
	for _, c := range []*cobra.Command{create, drop, list} {
		addNameFlags(c)
		cmd.AddCommand(c)
	}
	return cmd
}

func newPublicationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "publication", Short: "Create, drop or list publications"}
	var pubSQL bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create the configured publication for source.tables, or add the matching tables it lacks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error {
				out := cmd.OutOrStdout()
				plan, err := source.PlanPublication(ctx, conn, cfg.Publication, cfg.Tables)
				if err != nil {
					return fmt.Errorf("publication %q: %w", cfg.Publication, err)
				}
				if pubSQL {
					printPublicationSQL(out, plan)
					return nil
				}
				if len(plan.Statements) == 0 {
					fmt.Fprintf(out, "publication %q already exists and has every table source.tables matches\n", cfg.Publication)
					return nil
				}
				if problems := plan.Problems(); len(problems) > 0 {
					return fmt.Errorf("publication %q: %s; or have a role that may do it run the SQL that `%s` prints",
						cfg.Publication, strings.Join(problems, "; "), cfg.Command("publication create --print-sql"))
				}
				if err := plan.Apply(ctx, conn); err != nil {
					return err
				}
				verb := "created"
				if plan.Exists {
					verb = "added to"
				}
				fmt.Fprintf(out, "%s publication %q: %s\n", verb, cfg.Publication, strings.Join(plan.Statements, "; "))
				if plan.ByName {
					fmt.Fprintf(out, "note: the tables are listed by name (a whole schema needs a superuser): run `%s` again after creating a table\n", cfg.Command("publication create"))
				}
				return nil
			})
		},
	}
	create.Flags().BoolVar(&pubSQL, "print-sql", false, "print the SQL (for a DBA to run) and do nothing")
	drop := &cobra.Command{
		Use: "drop", Short: "Drop the configured publication", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg source.Config, conn *pgx.Conn) error {
				dropped, err := source.DropPublication(ctx, conn, cfg.Publication)
				if err != nil {
					return err
				}
				if !dropped {
					fmt.Fprintf(cmd.OutOrStdout(), "publication %q does not exist\n", cfg.Publication)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dropped publication %q\n", cfg.Publication)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List publications with their operations and tables", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, _ source.Config, conn *pgx.Conn) error {
				pubs, err := source.ListPublications(ctx, conn)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tALL_TABLES\tOPERATIONS\tTABLES")
				for _, p := range pubs {
					fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", p.Name, p.AllTables, strings.Join(p.Ops, ","), dash(strings.Join(p.Tables, ", ")))
				}
				return tw.Flush()
			})
		},
	}
	for _, c := range []*cobra.Command{create, drop, list} {
		addNameFlags(c)
		cmd.AddCommand(c)
	}
	return cmd
}

// printPublicationSQL prints what `publication create` would run, as a
// script for a DBA.
func printPublicationSQL(w io.Writer, plan source.PublicationPlan) {
	if len(plan.Statements) == 0 {
		fmt.Fprintf(w, "-- publication %q already has every table source.tables matches: nothing to do\n", plan.Name)
		return
	}
	if plan.ByName {
		fmt.Fprintln(w, "-- The tables are listed by name: run `pgcdc publication create --print-sql` again after creating a table.")
		fmt.Fprintln(w, "-- As a superuser, FOR TABLES IN SCHEMA <schema> (PostgreSQL 15+) also publishes tables created later.")
	}
	for _, stmt := range plan.Statements {
		fmt.Fprintln(w, stmt+";")
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
