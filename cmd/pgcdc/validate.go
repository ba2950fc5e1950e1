package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
)

func newValidateCmd() *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config file alone and print every problem with its path",
		Long: `validate checks the config (and the PGCDC_* variables that override it) without
touching the database, and reports every problem at once, each with its
file position and key path. Warnings (a short webhook secret, say) go to
stderr and do not fail it. --print writes the effective configuration to
stdout, defaults applied and secrets redacted, as YAML that validate accepts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := loadConfig(cmd, config.NeedAll)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			for _, w := range l.warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			if show {
				out, err := config.Marshal(l.cfg.Redacted())
				if err != nil {
					return fmt.Errorf("print config: %w", err)
				}
				if _, err := cmd.OutOrStdout().Write(out); err != nil {
					return fmt.Errorf("print config: %w", err)
				}
			}
			from := l.path
			if from == "" {
				from = "environment"
			}
			fmt.Fprintf(stderr, "%s: ok (%d sinks, %d warnings)\n", from, len(l.cfg.Sinks), len(l.warnings))
			return nil
		},
	}
	cmd.Flags().BoolVar(&show, "print", false, "print the effective config to stdout (defaults applied, secrets redacted)")
	return cmd
}
