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
// viper. The config file itself, and the PGCDC_* variables that override
// its keys, are read by package config: viper cannot address a list entry
// by index or sink name (PGCDC_SINKS_BILLING_URL), does not reject a
// misspelt variable, and knows no file positions. Nor does it look for
// the file: viper only finds a file by reading it with its own, lenient
// decoder, so the search below stays.
func settings(cmd *cobra.Command) *viper.Viper {
	v := viper.New()
	_ = v.BindPFlags(cmd.Flags())
	_ = v.BindPFlags(cmd.InheritedFlags())
	_ = v.BindEnv("config", "PGCDC_CONFIG")
	return v
}

// configPath finds the config file: the flag, PGCDC_CONFIG, then the
// search paths. It returns "" when there is none.
func configPath(v *viper.Viper) string {
	if p := v.GetString("config"); p != "" {
		return p
	}
	for _, p := range searchPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// loaded is a resolved configuration.
type loaded struct {
	cfg      *config.Config
	path     string // "" when it came from the environment alone
	warnings config.Errors
}

// loadConfig loads, overrides from PGCDC_* env and the --slot and
// --publication flags, defaults and validates the config, insisting only
// on what the command needs. Without a config file the environment alone
// may configure a command (PGCDC_SOURCE_DSN=... pgcdc slot list). Every
// problem makes an exitConfig error listing them all.
func loadConfig(cmd *cobra.Command, needs config.Needs) (*loaded, error) {
	v := settings(cmd)
	var set []config.Setting
	for _, f := range []struct{ flag, key string }{{"slot", "source.slot"}, {"publication", "source.publication"}} {
		if val := v.GetString(f.flag); val != "" {
			set = append(set, config.Setting{Key: f.key, Value: val, From: "--" + f.flag})
		}
	}
	path := configPath(v)
	if path == "" {
		doc, _ := config.ParseDocument(nil, "", os.LookupEnv)
		if err := doc.Resolve(os.Environ(), needs, set...); err != nil {
			msg := fmt.Sprintf("no config file: pass -c pipeline.yaml (or set PGCDC_CONFIG); looked for %s. "+
				"Without one, the PGCDC_* environment must give what %q needs", strings.Join(searchPaths, ", "), cmd.CommandPath())
			if needs&config.NeedSinks != 0 {
				msg += " (sinks can only come from a file)"
			}
			return nil, withCode(exitConfig, fmt.Errorf("%s:\n%w", msg, err))
		}
		return &loaded{cfg: doc.Config, warnings: doc.Warnings}, nil
	}
	doc, err := config.LoadDocument(path, os.LookupEnv)
	if doc == nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, withCode(exitConfig, fmt.Errorf("config file %s does not exist", path))
		}
		return nil, withCode(exitConfig, fmt.Errorf("invalid config:\n%w", err))
	}
	if err := doc.Resolve(os.Environ(), needs, set...); err != nil {
		return nil, withCode(exitConfig, fmt.Errorf("invalid config:\n%w", err))
	}
	return &loaded{cfg: doc.Config, path: path, warnings: doc.Warnings}, nil
}

// logWarnings logs the config's warnings, one line each.
func (l *loaded) logWarnings(log *slog.Logger) {
	for _, w := range l.warnings {
		log.Warn("config: "+w.Error(), "component", "config")
	}
}

// addNameFlags adds --slot and --publication, which override the config.
func addNameFlags(cmd *cobra.Command) {
	cmd.Flags().String("slot", "", "replication slot name (overrides source.slot)")
	cmd.Flags().String("publication", "", "publication name (overrides source.publication)")
}
