package main

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	var show bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the config file alone and print every problem with its path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if show {
				out, err := yaml.Marshal(cfg.Redacted())
				if err != nil {
					return fmt.Errorf("print config: %w", err)
				}
				fmt.Fprint(cmd.OutOrStdout(), string(out))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d sinks)\n", path, len(cfg.Sinks))
			return nil
		},
	}
	cmd.Flags().BoolVar(&show, "print", false, "print the effective config (defaults applied, secrets redacted)")
	return cmd
}
