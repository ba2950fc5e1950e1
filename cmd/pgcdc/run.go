package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

func newRunCmd() *cobra.Command {
	var until string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Stream the slot through the pipeline until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var stopAt pipeline.LSN
			if until != "" {
				if stopAt, err = pipeline.ParseLSN(until); err != nil {
					return withCode(exitUsage, fmt.Errorf("--until-lsn: %w", err))
				}
			}
			ctx, stop := signalContext()
			defer stop()
			return runPipeline(ctx, cfg, newLogger(cfg.Log), stopAt)
		},
	}
	addNameFlags(cmd)
	cmd.Flags().StringVar(&until, "until-lsn", "", "stop by itself once everything up to this WAL position (e.g. 0/16B3748) is delivered and confirmed")
	return cmd
}

// signalContext is cancelled by the first SIGINT/SIGTERM (graceful drain);
// a second one exits at once.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "pgcdc: second signal, exiting without draining")
		os.Exit(exitError)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// runPipeline wires source, transforms and sinks and runs them.
// stopAt, when not zero, stops the run once everything up to it is
// delivered (--until-lsn).
func runPipeline(ctx context.Context, cfg *config.Config, log *slog.Logger, stopAt pipeline.LSN) error {
	conn, err := source.NewConnector(cfg.Source.DSN)
	if err != nil {
		return err
	}
	scfg := sourceConfig(cfg)
	scfg.StopAt = stopAt
	src := source.New(conn, scfg, log)
	if err := src.Prepare(ctx); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	global, err := transforms(cfg.Transforms)
	if err != nil {
		return withCode(exitConfig, err)
	}
	outs, err := outputs(cfg, deps{log: log, catalog: src.Catalog(), stdout: os.Stdout, db: conn.Database()})
	if err != nil {
		return withCode(exitConfig, err)
	}
	p := pipeline.New(src, global, outs, pipelineOptions(cfg, log))
	log.Info("pgcdc running", "version", version, "slot", cfg.Source.Slot, "publication", cfg.Source.Publication, "sinks", len(outs))
	if err := p.Run(ctx); err != nil {
		return err
	}
	log.Info("pgcdc stopped", "confirmed", src.ConfirmedLSN())
	return nil
}
