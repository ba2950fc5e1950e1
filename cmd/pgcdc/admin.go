package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

// withDB loads the config and opens an ordinary connection to its database.
func withDB(cmd *cobra.Command, fn func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error) error {
	l, err := loadConfig(cmd, config.NeedSource)
	if err != nil {
		return err
	}
	cfg := l.cfg
	l.logWarnings(newLogger(cfg.Log))
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
	return fn(ctx, cfg, conn)
}

func newCheckCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Preflight against the database: wal_level, REPLICATION, slot, publication, replica identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
				findings, err := source.Preflight(ctx, conn, cfg.Source.Slot, cfg.Source.Publication)
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
				failed += checkFilters(ctx, cmd, cfg, conn)
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
	create := &cobra.Command{
		Use: "create", Short: "Create the configured slot (pgoutput)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
				created, err := source.CreateSlot(ctx, conn, cfg.Source.Slot)
				if err != nil {
					return err
				}
				if !created {
					fmt.Fprintf(cmd.OutOrStdout(), "slot %q already exists\n", cfg.Source.Slot)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created slot %q\n", cfg.Source.Slot)
				return nil
			})
		},
	}
	drop := &cobra.Command{
		Use: "drop", Short: "Drop the configured slot (PostgreSQL then frees the WAL it holds)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
				dropped, err := source.DropSlot(ctx, conn, cfg.Source.Slot)
				if err != nil {
					return err
				}
				if !dropped {
					fmt.Fprintf(cmd.OutOrStdout(), "slot %q does not exist\n", cfg.Source.Slot)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dropped slot %q\n", cfg.Source.Slot)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List replication slots with plugin, state, confirmed LSN and retained WAL", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
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
	create := &cobra.Command{
		Use: "create", Short: "Create the configured publication for source.tables", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
				created, stmt, err := source.CreatePublication(ctx, conn, cfg.Source.Publication, cfg.Source.Tables)
				if err != nil {
					return err
				}
				if !created {
					fmt.Fprintf(cmd.OutOrStdout(), "publication %q already exists\n", cfg.Source.Publication)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created publication %q: %s\n", cfg.Source.Publication, stmt)
				return nil
			})
		},
	}
	drop := &cobra.Command{
		Use: "drop", Short: "Drop the configured publication", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
				dropped, err := source.DropPublication(ctx, conn, cfg.Source.Publication)
				if err != nil {
					return err
				}
				if !dropped {
					fmt.Fprintf(cmd.OutOrStdout(), "publication %q does not exist\n", cfg.Source.Publication)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dropped publication %q\n", cfg.Source.Publication)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List publications with their operations and tables", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withDB(cmd, func(ctx context.Context, cfg *config.Config, conn *pgx.Conn) error {
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
	warnings, err := checks.Run(cat)
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
