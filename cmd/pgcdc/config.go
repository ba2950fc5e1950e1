package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/pgcdc/pgcdc/config"
)

// searchPaths is where pgcdc looks for a config when none is named.
var searchPaths = []string{"pipeline.yaml", "pgcdc.yaml", "/etc/pgcdc/pipeline.yaml"}

// settings reads the command's flags and the PGCDC_CONFIG variable through
// viper. The config file itself is decoded by package config, strictly.
func settings(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	_ = v.BindPFlags(cmd.Flags())
	_ = v.BindPFlags(cmd.InheritedFlags())
	_ = v.BindEnv("config", "PGCDC_CONFIG")
	return v
}

// configPath finds the config file: the flag, PGCDC_CONFIG, then the
// search paths.
func configPath(v *viper.Viper) (string, error) {
	if p := v.GetString("config"); p != "" {
		return p, nil
	}
	for _, p := range searchPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", withCode(exitConfig, fmt.Errorf("no config file: pass -c pipeline.yaml (or set PGCDC_CONFIG); looked for %s", strings.Join(searchPaths, ", ")))
}

// loadConfig loads, overrides from PGCDC_* env, defaults and validates the
// config, then applies --slot/--publication overrides. Every problem makes
// an exitConfig error listing them all.
func loadConfig(cmd *cobra.Command) (*config.Config, string, error) {
	v := settings(cmd)
	path, err := configPath(v)
	if err != nil {
		return nil, "", err
	}
	doc, err := config.LoadDocument(path, os.LookupEnv)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, path, withCode(exitConfig, fmt.Errorf("config file %s does not exist", path))
		}
		return nil, path, withCode(exitConfig, fmt.Errorf("invalid config:\n%w", err))
	}
	if s := v.GetString("slot"); s != "" {
		doc.Config.Source.Slot = s
	}
	if p := v.GetString("publication"); p != "" {
		doc.Config.Source.Publication = p
	}
	if err := doc.Resolve(os.Environ()); err != nil {
		return nil, path, withCode(exitConfig, fmt.Errorf("invalid config:\n%w", err))
	}
	return doc.Config, path, nil
}

// newLogger builds the process logger from the config: to stderr, so that
// stdout carries only events.
func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// addNameFlags adds --slot and --publication, which override the config.
func addNameFlags(cmd *cobra.Command) {
	cmd.Flags().String("slot", "", "replication slot name (overrides source.slot)")
	cmd.Flags().String("publication", "", "publication name (overrides source.publication)")
}
