// Package config is pgcdc's YAML schema and how it becomes an effective
// configuration (ARCHITECTURE §9).
//
// The sequence, each step in one place:
//
//  1. LoadDocument (or Load, Parse): read the file, decode it strictly —
//     unknown keys, values of the wrong type and bad durations are
//     errors with file:line:col and the key path — and expand ${VAR} and
//     ${VAR:-default} in values (never in keys) from the environment.
//  2. ApplyEnv: PGCDC_* variables override single keys.
//  3. Config.SetDefaults: every default, exported as Default* constants.
//  4. Config.Validate: every remaining problem at once, as Errors.
//
// Document.Resolve runs steps 2 to 4 and points validation problems at
// the lines they concern. Config.Redacted and RedactDSN make a
// configuration or a DSN safe to print.
//
// Every problem is a *FieldError in an Errors list; messages never hold
// secrets (passwords, webhook secrets, header values, tokens).
package config
