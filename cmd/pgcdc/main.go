// Command pgcdc streams PostgreSQL changes from a logical replication slot
// to stdout, Server-Sent Events, WebSocket and webhook sinks.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes (sysexits.h where one fits).
const (
	exitError  = 1
	exitUsage  = 64
	exitConfig = 78 // EX_CONFIG: the configuration is invalid
)

// version is set at build time with -ldflags "-X main.version=...", else
// taken from the build info (version.go).
var version string

// exitError carries the process exit code with an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

func main() {
	root := newRootCmd()
	err := root.Execute()
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "pgcdc: "+err.Error())
	var ce *codedError
	if errors.As(err, &ce) {
		os.Exit(ce.code)
	}
	os.Exit(exitError)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "pgcdc",
		Short:         "Stream PostgreSQL changes to SSE, WebSocket, webhooks and stdout",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringP("config", "c", "", "pipeline config file (env PGCDC_CONFIG; default ./pipeline.yaml, /etc/pgcdc/pipeline.yaml)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(exitUsage, fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(newRunCmd(), newValidateCmd(), newCheckCmd(), newSlotCmd(), newPublicationCmd(), newDemoCmd(), newBenchCmd(), newDeadLetterCmd(), newHealthCmd(), newTriggersCmd(), newEdgeCmd(), newSnapshotCmd())
	strictUsage(root)
	return root
}
