package source

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// sessionParams make the server's text output predictable: timestamps in
// UTC and ISO form, intervals in ISO 8601, floats with the shortest exact
// digits. pgoutput formats values with the walsender session's settings.
var sessionParams = map[string]string{
	"TimeZone":           "UTC",
	"DateStyle":          "ISO, YMD",
	"IntervalStyle":      "iso_8601",
	"extra_float_digits": "3",
	"bytea_output":       "hex",
	"application_name":   "pgcdc",
}

// Connector opens connections from a DSN.
type Connector struct {
	dsn string
	cfg *pgconn.Config
}

// NewConnector parses dsn. The error never contains the password.
func NewConnector(dsn string) (*Connector, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil, &FatalError{fmt.Errorf("parse source.dsn: invalid connection string (want postgres://user:pass@host:5432/db or key=value pairs)")}
	}
	return &Connector{dsn: dsn, cfg: cfg}, nil
}

// Database is the database name the DSN selects.
func (c *Connector) Database() string { return c.cfg.Database }

// User is the role the DSN logs in as.
func (c *Connector) User() string { return c.cfg.User }

// Replication opens a logical replication connection.
func (c *Connector) Replication(ctx context.Context) (*pgconn.PgConn, error) {
	cfg := c.cfg.Copy()
	for k, v := range sessionParams {
		cfg.RuntimeParams[k] = v
	}
	cfg.RuntimeParams["replication"] = "database"
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, describeConnectError(ctx, err, cfg)
	}
	return conn, nil
}

// SQL opens an ordinary connection for catalog queries and administration.
func (c *Connector) SQL(ctx context.Context) (*pgx.Conn, error) {
	return c.sqlConn(ctx, map[string]string{"application_name": "pgcdc"})
}

// sessionSQL opens an ordinary connection with the replication session's
// settings (sessionParams), so that values read by SQL are the text
// pgoutput would send (snapshots), and without JIT compilation, which
// costs each chunk query far more than it saves.
func (c *Connector) sessionSQL(ctx context.Context) (*pgx.Conn, error) {
	params := map[string]string{"jit": "off"}
	for k, v := range sessionParams {
		params[k] = v
	}
	return c.sqlConn(ctx, params)
}

// sqlConn opens an ordinary connection with these runtime parameters set.
func (c *Connector) sqlConn(ctx context.Context, params map[string]string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(c.dsn)
	if err != nil {
		return nil, &FatalError{fmt.Errorf("parse source.dsn: invalid connection string")}
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, describeConnectError(ctx, err, &cfg.Config)
	}
	return conn, nil
}
