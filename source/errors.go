package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors callers branch on.
var (
	// ErrSlotMissing: the replication slot does not exist.
	ErrSlotMissing = errors.New("replication slot does not exist")
	// ErrPublicationMissing: the publication does not exist.
	ErrPublicationMissing = errors.New("publication does not exist")
	// ErrWALLevel: wal_level is not logical.
	ErrWALLevel = errors.New("wal_level is not logical")
	// ErrNoReplication: the role lacks the REPLICATION attribute.
	ErrNoReplication = errors.New("role lacks the REPLICATION attribute")
	// ErrSlotLost: the server invalidated the slot (wal_status lost); the
	// changes it held are gone.
	ErrSlotLost = errors.New("replication slot was invalidated")
	// ErrServerVersion: PostgreSQL is older than MinServerVersion.
	ErrServerVersion = errors.New("PostgreSQL is too old")
)

// FatalError is an error that retrying will not fix (bad password, missing
// slot, ...). Its message says what to do.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// IsFatal reports whether err is not worth retrying.
func IsFatal(err error) bool {
	var f *FatalError
	return errors.As(err, &f)
}

// lookupError is a catalog query of the decoder (a type, a primary key)
// that failed because the database could not be asked. Retrying may fix
// it, so the session ends and Run reconnects; the Relation message comes
// again in the new session.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

func isLookup(err error) bool {
	var l *lookupError
	return errors.As(err, &l)
}

// describeConnectError turns a connection failure into one line that names
// the problem and the fix. It never includes the password: pgconn's errors
// name only the user, database and address. ctx is the caller's: when it
// ended, its error is the cause.
func describeConnectError(ctx context.Context, err error, cfg *pgconn.Config) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", ctx.Err())
	}
	addr := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return fmt.Errorf("PostgreSQL at %s did not answer within %s (connect_timeout): is it a PostgreSQL server, is it overloaded, or does a proxy hold the connection? check the host and port in source.dsn",
			addr, cfg.ConnectTimeout)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return &FatalError{fmt.Errorf("password authentication failed for user %q at %s: check the password in source.dsn", cfg.User, addr)}
		case "28000":
			if strings.Contains(pgErr.Message, "replication") {
				return &FatalError{fmt.Errorf("%w: role %q may not open a replication connection at %s (%s): run ALTER ROLE %s WITH REPLICATION; and check pg_hba.conf allows replication connections",
					ErrNoReplication, cfg.User, addr, pgErr.Message, quoteIdent(cfg.User))}
			}
			return &FatalError{fmt.Errorf("access denied for user %q at %s: %s: check pg_hba.conf and source.dsn", cfg.User, addr, pgErr.Message)}
		case "42501":
			return &FatalError{fmt.Errorf("%w: role %q: %s: run ALTER ROLE %s WITH REPLICATION", ErrNoReplication, cfg.User, pgErr.Message, quoteIdent(cfg.User))}
		case "3D000":
			return &FatalError{fmt.Errorf("database %q does not exist at %s: fix the database name in source.dsn", cfg.Database, addr)}
		case "53300":
			return fmt.Errorf("too many connections at %s: %s", addr, pgErr.Message)
		case "57P03":
			return fmt.Errorf("PostgreSQL at %s is starting up or shutting down: %s", addr, pgErr.Message)
		}
		return fmt.Errorf("connect to %s as %q: %s (SQLSTATE %s)", addr, cfg.User, pgErr.Message, pgErr.Code)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot resolve host %q: fix the host in source.dsn", dnsErr.Name)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("cannot reach PostgreSQL at %s: %v: is the server running, and is the host/port in source.dsn right?", addr, opErr.Err)
	}
	return fmt.Errorf("connect to %s as %q: %s", addr, cfg.User, oneLine(err.Error()))
}

// oneLine joins the lines of a multi-line message (pgconn reports each
// address it tried on a line of its own).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " | ")), " ")
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteLiteral quotes a PostgreSQL string literal.
func quoteLiteral(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
