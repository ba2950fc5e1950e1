// Package config is pgcdc's YAML schema and how it becomes an effective
// configuration (ARCHITECTURE §9).
//
// The sequence, each step in one place:
//
//  1. LoadDocument (or ParseDocument, Parse): refuse input over 1 MiB or
//     nested over 64 levels, parse it with goccy/go-yaml, decode it
//     strictly — unknown keys, values of the wrong type and bad durations
//     are errors with file:line:col and the key path, all of them, not the
//     first — and expand ${VAR} and ${VAR:-default} in values (never in
//     keys) from the environment.
//  2. ApplyEnv: PGCDC_* variables override single keys; then Settings
//     (command-line flags) do.
//  3. Config.SetDefaults: every default, exported as Default* constants.
//  4. Config.Validate: every remaining problem at once, as Errors; every
//     number and duration has a range. Config.Warnings: what does not stop
//     pgcdc but should be said.
//
// Document.Resolve runs steps 2 to 4 for what a command Needs, reports the
// decoding problems of step 1 with the others in one list, points each at
// the line it concerns, and sets Document.Warnings. Config.Redacted and
// RedactDSN make a configuration or a DSN safe to print; Marshal prints
// one as YAML that decodes back to it.
//
// goccy/go-yaml parses, and its AST gives positions and anchors; the
// decoding walk is this package's own because the library's decoder stops
// at the first problem, truncates 1.5 into an int, reports a bad duration
// without a position and loses positions inside inline structs.
//
// Every problem is a *FieldError in an Errors list; messages never hold
// secrets (passwords, webhook secrets, header values, tokens).
package config
