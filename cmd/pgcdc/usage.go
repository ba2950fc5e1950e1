package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// strictUsage makes every mistake on the command line exit 64 (EX_USAGE)
// with one line naming it, so that a script never "succeeds" on a typo:
// an argument a command does not take, an unknown subcommand (with the
// closest ones suggested), and a command group given no subcommand.
// cobra itself prints the group's help and exits 0 for the last two.
func strictUsage(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictUsage(sub)
	}
	c.SuggestionsMinimumDistance = 2
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		isRoot := !c.HasParent()
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				if isRoot {
					return cmd.Help()
				}
				return withCode(exitUsage, fmt.Errorf("%s needs a subcommand: %s (see %s --help)", cmd.CommandPath(), subcommands(cmd), cmd.CommandPath()))
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			} else {
				msg += ": want " + subcommands(cmd)
			}
			return withCode(exitUsage, fmt.Errorf("%s", msg))
		}
		return
	}
	if orig := c.Args; orig != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return withCode(exitUsage, fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
			}
			return nil
		}
	}
}

// subcommands lists the names of c's available subcommands.
func subcommands(c *cobra.Command) string {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return strings.Join(names, ", ")
}
