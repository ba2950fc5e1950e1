package app

import (
	"log/slog"
	"os"

	"github.com/pgcdc/pgcdc/config"
)

// NewLogger is the process's structured logger on stderr, at the config's
// level and in its format (text or json).
func NewLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
