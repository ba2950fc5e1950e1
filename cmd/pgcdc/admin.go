package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
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
	l.logWarnings(newLogger(cfg.Log))
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

func newCheckCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Preflight against the database: wal_level, REPLICATION, slot, publication, replica identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, full *config.Config, cfg source.Config, conn *pgx.Conn) error {
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
				failed += checkFilters(ctx, cmd, full, conn)
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
				l, err := loadConfig(cmd, config.NeedSource)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), source.CreateSlotSQL(l.cfg.Source.Slot))
				return nil
			}
			return withDB(cmd, func(ctx context.Context, _ *config.Config, cfg source.Config, conn *pgx.Conn) error {
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
			return withDB(cmd, func(ctx context.Context, _ *config.Config, cfg source.Config, conn *pgx.Conn) error {
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
			return withDB(cmd, func(ctx context.Context, _ *config.Config, _ source.Config, conn *pgx.Conn) error {
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
			return withDB(cmd, func(ctx context.Context, _ *config.Config, cfg source.Config, conn *pgx.Conn) error {
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
			return withDB(cmd, func(ctx context.Context, _ *config.Config, cfg source.Config, conn *pgx.Conn) error {
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
			return withDB(cmd, func(ctx context.Context, _ *config.Config, _ source.Config, conn *pgx.Conn) error {
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

// checkFilters checks the configured filters and projections against the
// tables the publication publishes now, printing each problem, and returns
// how many are errors.
func checkFilters(ctx context.Context, cmd *cobra.Command, cfg *config.Config, conn *pgx.Conn) int {
	checks, err := wiring.FilterChecks(cfg)
	if err != nil || len(checks) == 0 {
		return 0 // validate reports bad filters; none to check
	}
	out := cmd.OutOrStdout()
	cat, err := source.LoadCatalog(ctx, conn, cfg.Source.Publication)
	if err != nil {
		fmt.Fprintf(out, "WARN  filters: not checked: %v\n", err)
		return 0
	}
	if len(cat.Tables()) == 0 {
		fmt.Fprintln(out, "WARN  filters: not checked: the publication publishes no table yet")
		return 0
	}
	warnings, err := checks.Run(cat, false)
	for _, w := range warnings {
		fmt.Fprintf(out, "WARN  filters: %s\n", w)
	}
	var ce *wiring.CheckError
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintf(out, "ERROR filters: %s\n", p)
		}
		return len(ce.Problems)
	}
	if len(warnings) == 0 {
		fmt.Fprintln(out, "OK    filters: every filter and projection fits the published tables")
	}
	return 0
}
