package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/internal/app"
	"github.com/pgcdc/pgcdc/internal/wiring"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

func newDeadLetterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deadletter", Short: "Work with a webhook sink's dead-letter file"}
	var sinkName, file string
	replay := &cobra.Command{
		Use:   "replay",
		Short: "Resend a webhook sink's dead-letter file once the receiver is fixed",
		Long: `replay resends every request in the sink's dead-letter file once, with the
same bodies and webhook-id, freshly signed. Accepted requests are removed from
the file; the rest stay for a later replay. It exits non-zero if any failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The database is not needed: a dead-letter line carries
			// everything its request is rebuilt from.
			l, err := loadConfig(cmd, config.NeedSinks)
			if err != nil {
				return err
			}
			cfg, log := l.cfg, app.NewLogger(l.cfg.Log)
			l.logWarnings(log)
			sc, err := webhookSink(cfg, sinkName)
			if err != nil {
				return withCode(exitUsage, err)
			}
			wc, err := wiring.WebhookConfig(sc)
			if err != nil {
				return withCode(exitConfig, err)
			}
			rep, err := webhook.Replay(cmd.Context(), wc, file, log, webhook.WithVersion(version))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sink %q: %d requests (%d events): %d accepted, %d failed\n", sc.Name, rep.Requests, rep.Events, rep.Accepted, rep.Failed)
			if rep.Failed > 0 {
				return fmt.Errorf("%d requests were not accepted; they stay in the dead-letter file", rep.Failed)
			}
			return nil
		},
	}
	replay.Flags().StringVar(&sinkName, "sink", "", "name of the webhook sink (may be omitted when there is only one)")
	replay.Flags().StringVar(&file, "file", "", "dead-letter file (default: the sink's dead_letter)")
	cmd.AddCommand(replay)
	return cmd
}

// webhookSink finds the webhook sink named name, or the only one.
func webhookSink(cfg *config.Config, name string) (config.Sink, error) {
	var names []string
	for _, s := range cfg.Sinks {
		if s.Type != "webhook" {
			continue
		}
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	if name == "" && len(names) == 1 {
		for _, s := range cfg.Sinks {
			if s.Name == names[0] {
				return s, nil
			}
		}
	}
	if len(names) == 0 {
		return config.Sink{}, fmt.Errorf("the config has no webhook sink")
	}
	if name == "" {
		return config.Sink{}, fmt.Errorf("--sink is required: webhook sinks are %s", strings.Join(names, ", "))
	}
	return config.Sink{}, fmt.Errorf("no webhook sink named %q: webhook sinks are %s", name, strings.Join(names, ", "))
}
