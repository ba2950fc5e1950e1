// Package pgcluster starts throwaway PostgreSQL clusters from the installed
// server binaries: initdb into a temporary directory, wal_level=logical, a
// free TCP port on 127.0.0.1 and a unix socket inside the directory. The
// tests use it, and so does `pgcdc demo`.
//
// PostgreSQL refuses to run as root. When the process is root, initdb and
// postgres run as the unprivileged "postgres" user (override with
// PGCDC_PG_USER) in a directory that user owns.
package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgcdc/pgcdc/internal/freeaddr"
)

// Password is the superuser password of every throwaway cluster. TCP
// connections authenticate with it (scram-sha-256); the unix socket trusts.
const Password = "pgcdc-test"

// Options tune a cluster. The zero value is a usable default.
type Options struct {
	// BinDir holds initdb and postgres; empty finds them (PGCDC_PG_BIN,
	// PATH, then the newest /usr/lib/postgresql/*/bin).
	BinDir string
	// Settings are extra postgresql.conf settings (name → value).
	Settings map[string]string
	// Log receives the server's log output; nil discards it.
	Log io.Writer
}

// Cluster is a running throwaway cluster.
type Cluster struct {
	Dir    string // owns data/ and the socket
	Port   int
	binDir string
	opts   Options
	proc   procAttr // how server processes are started (platform-specific)
	uid    int
	gid    int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// FindBinDir locates the PostgreSQL server binaries.
func FindBinDir() (string, error) {
	if d := os.Getenv("PGCDC_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("PGCDC_PG_BIN is %s, which has no initdb: point it at the directory of PostgreSQL's server binaries, or unset it. %s", d, installHint)
		}
		return d, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found. " + installHint + ", or set PGCDC_PG_BIN to their directory")
}

// installHint says how to install PostgreSQL's server binaries.
const installHint = "Install them: apt-get install postgresql (Debian, Ubuntu), dnf install postgresql-server (Fedora), brew install postgresql@15 (macOS)"

func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// Start initialises and starts a cluster in a new temporary directory.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := supported(); err != nil {
		return nil, err
	}
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{binDir: bin, opts: opts, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		name := os.Getenv("PGCDC_PG_USER")
		if name == "" {
			name = "postgres"
		}
		u, err := user.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs an unprivileged user: %w (create %q or set PGCDC_PG_USER)", err, name)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		c.proc.runAs(c.uid, c.gid)
	}
	dir, err := os.MkdirTemp("", "pgcdc-pg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c.Dir = dir
	if err := c.chown(dir); err != nil {
		c.Cleanup()
		return nil, err
	}
	if err := c.initdb(ctx); err != nil {
		c.Cleanup()
		return nil, err
	}
	// The port is free when picked; another process may take it before
	// the postmaster binds it (an outgoing connection's local port, on a
	// busy machine): then another one is tried.
	for attempt := 1; ; attempt++ {
		if c.Port, err = freeaddr.Port(); err != nil {
			c.Cleanup()
			return nil, err
		}
		err = c.Boot(ctx)
		if err == nil {
			return c, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			c.Cleanup()
			return nil, err
		}
	}
}

func (c *Cluster) chown(path string) error {
	if c.uid < 0 {
		return nil
	}
	if err := os.Chown(path, c.uid, c.gid); err != nil {
		return fmt.Errorf("chown %s to the postgres user: %w", path, err)
	}
	return nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	c.proc.apply(cmd)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Dir = c.Dir
	return cmd
}

func (c *Cluster) initdb(ctx context.Context) error {
	pw := filepath.Join(c.Dir, "pwfile")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	if err := c.chown(pw); err != nil {
		return err
	}
	cmd := c.command(ctx, "initdb", "-D", c.DataDir(), "-U", "postgres", "-E", "UTF8",
		"--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pw, "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, lastLines(string(out), 5))
	}
	return nil
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// Boot starts the postmaster and waits until it accepts connections. Start
// calls it; tests call it again after Stop to restart on the same port.
func (c *Cluster) Boot(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("cluster already running")
	}
	args := []string{"-D", c.DataDir(), "-p", strconv.Itoa(c.Port), "-k", c.Dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "wal_level=logical",
		"-c", "max_replication_slots=20",
		"-c", "max_wal_senders=20",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "logging_collector=off",
		"-c", "log_min_messages=warning",
		"-c", "TimeZone=UTC",
	}
	keys := make([]string, 0, len(c.opts.Settings))
	for k := range c.opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+c.opts.Settings[k])
	}
	cmd := c.command(context.Background(), "postgres", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	ready := make(chan struct{})
	var once sync.Once
	var tail []string
	var tailMu sync.Mutex
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if c.opts.Log != nil {
				fmt.Fprintln(c.opts.Log, line)
			}
			tailMu.Lock()
			if tail = append(tail, line); len(tail) > 10 {
				tail = tail[1:]
			}
			tailMu.Unlock()
			if strings.Contains(line, "ready to accept connections") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		<-logDone
		_ = cmd.Wait()
		close(done)
	}()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case <-ready:
		c.cmd, c.done = cmd, done
		return nil
	case <-done:
		tailMu.Lock()
		defer tailMu.Unlock()
		return fmt.Errorf("postgres exited during startup: %s", strings.Join(tail, " | "))
	case <-ctx.Done():
		killGroup(cmd)
		<-done
		return ctx.Err()
	case <-timeout.C:
		killGroup(cmd)
		<-done
		return errors.New("postgres did not accept connections within 60s")
	}
}

// Stop shuts the server down: fast mode (SIGINT) when immediate is false,
// otherwise immediate mode (SIGQUIT), like a crash. It waits for exit.
func (c *Cluster) Stop(immediate bool) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd, c.done = nil, nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	stopServer(cmd, immediate)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		killGroup(cmd)
		<-done
		return errors.New("postgres did not stop within 30s; killed")
	}
	return nil
}

// Cleanup stops the server and removes its directory.
func (c *Cluster) Cleanup() {
	_ = c.Stop(false)
	if c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// DSN is a TCP URL for database db (default "postgres") as the superuser,
// with the password. Extra key/value pairs become query parameters.
func (c *Cluster) DSN(db string, params ...string) string {
	return c.UserDSN("postgres", Password, db, params...)
}

// UserDSN is a TCP URL for the given role.
func (c *Cluster) UserDSN(role, password, db string, params ...string) string {
	if db == "" {
		db = "postgres"
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, password),
		Host: "127.0.0.1:" + strconv.Itoa(c.Port), Path: "/" + db}
	q := url.Values{"sslmode": {"disable"}}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// SocketDSN is a unix-socket key/value DSN (trust auth, no password).
func (c *Cluster) SocketDSN(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.Dir, c.Port, db)
}

// Psql runs SQL through psql on the unix socket and returns its output.
func (c *Cluster) Psql(ctx context.Context, db, sql string) (string, error) {
	if db == "" {
		db = "postgres"
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "psql"), "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1", "-h", c.Dir, "-p", strconv.Itoa(c.Port), "-U", "postgres", "-d", db, "-c", sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("psql: %w: %s", err, lastLines(string(out), 5))
	}
	return string(out), nil
}

// BinDir returns the directory of the server binaries.
func (c *Cluster) BinDir() string { return c.binDir }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
