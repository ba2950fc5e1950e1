package wiring

import (
	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/source/listen"
	"github.com/pgcdc/pgcdc/source/triggers"
)

// TriggersConfig maps the config to the trigger source's settings.
func TriggersConfig(cfg *config.Config) triggers.Config {
	s := cfg.Source
	return triggers.Config{
		Objects: triggers.Objects{Schema: s.Triggers.Schema}, Tables: s.Tables,
		PollInterval: s.Triggers.PollInterval, StatusInterval: s.StatusInterval, BacklogWarn: s.Triggers.BacklogWarn,
		BatchEvents:      cfg.Pipeline.BatchEvents,
		ReconnectInitial: s.Reconnect.Initial, ReconnectMax: s.Reconnect.Max, ReconnectMaxElapsed: s.Reconnect.MaxElapsed,
	}
}

// ListenConfig maps the config to the listen source's settings.
func ListenConfig(cfg *config.Config) listen.Config {
	s := cfg.Source
	f := s.Listen.Fields
	return listen.Config{
		Channels: s.Listen.Channels, Tables: s.Tables,
		Fields:           listen.Fields{Schema: f.Schema, Table: f.Table, Op: f.Op, Row: f.Row, OldRow: f.OldRow},
		ReconnectInitial: s.Reconnect.Initial, ReconnectMax: s.Reconnect.Max, ReconnectMaxElapsed: s.Reconnect.MaxElapsed,
	}
}
