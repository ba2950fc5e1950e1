package source

import (
	"fmt"
	"strings"
)

// Command returns a pgcdc command line for a hint, with the config file
// the user ran with (Config.ConfigPath; none when the configuration came
// from the environment alone).
func (c Config) Command(args string) string {
	if c.ConfigPath == "" {
		return "pgcdc " + args
	}
	return "pgcdc " + args + " -c " + shellQuote(c.ConfigPath)
}

// slotLostFix is the recovery of an invalidated slot.
func (c Config) slotLostFix() string {
	return fmt.Sprintf("the changes since pgcdc last confirmed are lost (the server removed their WAL); to stream again from now: %s, then %s (or run with source.create: true); a snapshot of the tables is the way to catch up on what was missed; to keep it from happening again, raise max_slot_wal_keep_size or keep pgcdc running",
		c.Command("slot drop"), c.Command("slot create"))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
