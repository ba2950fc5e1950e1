package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/source/triggers"
)

// The pgcdc triggers commands: the outbox and capture triggers of
// source.type triggers.

func objects(cfg *config.Config) triggers.Objects {
	return triggers.Objects{Schema: cfg.Source.Triggers.Schema}
}

// TriggersInstall creates the schema, outbox, functions and triggers for
// the tables of source.tables (idempotent); printSQL prints it instead.
func TriggersInstall(ctx context.Context, out io.Writer, cfg *config.Config, conn *pgx.Conn, printSQL bool) error {
	o := objects(cfg)
	wake := cfg.Source.Triggers.Wake != config.WakePoll
	if printSQL {
		tables, err := o.MatchingTables(ctx, conn, cfg.Source.Tables)
		if err != nil {
			return err
		}
		fmt.Fprint(out, o.InstallSQL(tables, wake))
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
	fmt.Fprintf(out, "installed %s and the triggers on %d table(s): %s\n", o.OutboxName(), len(tables), strings.Join(names, ", "))
	return nil
}

// TriggersUninstall drops the triggers, the functions, the outbox and its
// schema; it refuses while the outbox holds rows unless force.
func TriggersUninstall(ctx context.Context, out io.Writer, cfg *config.Config, conn *pgx.Conn, printSQL, force bool) error {
	o := objects(cfg)
	if printSQL {
		tables, err := o.CapturedTables(ctx, conn)
		if err != nil {
			return err
		}
		fmt.Fprint(out, o.UninstallSQL(tables))
		return nil
	}
	tables, _, err := o.Uninstall(ctx, conn, force)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "uninstalled: triggers dropped from %d table(s), %s and its schema dropped\n", len(tables), o.OutboxName())
	return nil
}

// TriggersStatus prints each table's triggers, the outbox backlog and the
// relay; it fails when a matching table is not captured or the outbox is
// missing, so that scripts can check.
func TriggersStatus(ctx context.Context, out io.Writer, cfg *config.Config, conn *pgx.Conn) error {
	o := objects(cfg)
	st, err := o.Status(ctx, conn, cfg.Source.Tables)
	if err != nil {
		return err
	}
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
