package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/source"
)

// The administrative commands (pgcdc check, slot, publication) against a
// connection to the configured database, writing their report to out.

// Check runs the preflight and the filter checks; it fails when any
// check failed.
func Check(ctx context.Context, out io.Writer, cfg *config.Config, scfg source.Config, conn *pgx.Conn) error {
	findings, err := source.Preflight(ctx, conn, scfg)
	if err != nil {
		return err
	}
	failed := 0
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
	failed += checkFilters(ctx, out, cfg, conn)
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkFilters checks the configured filters and projections against the
// tables the publication publishes now, printing each problem, and returns
// how many are errors.
func checkFilters(ctx context.Context, out io.Writer, cfg *config.Config, conn *pgx.Conn) int {
	checks, err := wiring.FilterChecks(cfg)
	if err != nil || len(checks) == 0 {
		return 0 // validate reports bad filters; none to check
	}
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

// CreateSlot creates the configured slot.
func CreateSlot(ctx context.Context, out io.Writer, scfg source.Config, conn *pgx.Conn) error {
	created, err := source.CreateSlot(ctx, conn, scfg.Slot)
	if err != nil {
		return err
	}
	return report(out, created, "created slot %q", "slot %q already exists", scfg.Slot)
}

// DropSlot drops the configured slot.
func DropSlot(ctx context.Context, out io.Writer, scfg source.Config, conn *pgx.Conn) error {
	dropped, err := source.DropSlot(ctx, conn, scfg.Slot)
	if err != nil {
		return err
	}
	return report(out, dropped, "dropped slot %q", "slot %q does not exist", scfg.Slot)
}

// ListSlots prints the cluster's slots.
func ListSlots(ctx context.Context, out io.Writer, conn *pgx.Conn) error {
	slots, err := source.ListSlots(ctx, conn)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPLUGIN\tDATABASE\tACTIVE\tCONFIRMED_LSN\tRETAINED_WAL\tWAL_STATUS")
	for _, s := range slots {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\t%s\n", s.Name, dash(s.Plugin), dash(s.Database), s.Active, dash(s.Confirmed), dash(s.RetainedWAL), dash(s.WALStatus))
	}
	return tw.Flush()
}

// CreatePublication creates the configured publication, or adds the
// matching tables it lacks; printSQL prints the statements instead.
func CreatePublication(ctx context.Context, out io.Writer, scfg source.Config, conn *pgx.Conn, printSQL bool) error {
	plan, err := source.PlanPublication(ctx, conn, scfg.Publication, scfg.Tables)
	if err != nil {
		return fmt.Errorf("publication %q: %w", scfg.Publication, err)
	}
	if printSQL {
		printPublicationSQL(out, plan)
		return nil
	}
	if len(plan.Statements) == 0 {
		fmt.Fprintf(out, "publication %q already exists and has every table source.tables matches\n", scfg.Publication)
		return nil
	}
	if problems := plan.Problems(); len(problems) > 0 {
		return fmt.Errorf("publication %q: %s; or have a role that may do it run the SQL that `%s` prints",
			scfg.Publication, strings.Join(problems, "; "), scfg.Command("publication create --print-sql"))
	}
	if err := plan.Apply(ctx, conn); err != nil {
		return err
	}
	verb := "created"
	if plan.Exists {
		verb = "added to"
	}
	fmt.Fprintf(out, "%s publication %q: %s\n", verb, scfg.Publication, strings.Join(plan.Statements, "; "))
	if plan.ByName {
		fmt.Fprintf(out, "note: the tables are listed by name (a whole schema needs a superuser): run `%s` again after creating a table\n", scfg.Command("publication create"))
	}
	return nil
}

// DropPublication drops the configured publication.
func DropPublication(ctx context.Context, out io.Writer, scfg source.Config, conn *pgx.Conn) error {
	dropped, err := source.DropPublication(ctx, conn, scfg.Publication)
	if err != nil {
		return err
	}
	return report(out, dropped, "dropped publication %q", "publication %q does not exist", scfg.Publication)
}

// ListPublications prints the database's publications.
func ListPublications(ctx context.Context, out io.Writer, conn *pgx.Conn) error {
	pubs, err := source.ListPublications(ctx, conn)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tALL_TABLES\tOPERATIONS\tTABLES")
	for _, p := range pubs {
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", p.Name, p.AllTables, strings.Join(p.Ops, ","), dash(strings.Join(p.Tables, ", ")))
	}
	return tw.Flush()
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

func report(out io.Writer, did bool, done, already, name string) error {
	if did {
		fmt.Fprintf(out, done+"\n", name)
	} else {
		fmt.Fprintf(out, already+"\n", name)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
