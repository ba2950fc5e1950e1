package live

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pgcdc/pgcdc/internal/measure"
)

// child is the `pgcdc run` process that pgcdc bench live measures.
// Its stderr (the text log) is drained by a goroutine that finds the
// listening address and the streaming line and keeps the last lines for
// error messages.
type child struct {
	cmd       *exec.Cmd
	mu        sync.Mutex
	addr      string
	streaming bool
	tail      []string
	changed   chan struct{} // closed and replaced when addr, streaming or the process state change
	done      chan struct{}
	err       error // the process's exit, once done is closed
}

var listenRE = regexp.MustCompile(`msg="http server listening" (?:.* )?addr=(\S+)`)

// spawn starts `bin run -c cfgPath` and any extra arguments. The
// child does not inherit PGCDC_* variables: the bench's config is the whole
// configuration.
func spawn(bin, cfgPath string, extra ...string) (*child, error) {
	return spawnCmd(bin, "run", cfgPath, extra...)
}

// spawnCmd starts `bin sub -c cfgPath` (run, or edge: edges.go).
func spawnCmd(bin, sub, cfgPath string, extra ...string) (*child, error) {
	args := append([]string{sub, "-c", cfgPath}, extra...)
	c := &child{cmd: exec.Command(bin, args...), changed: make(chan struct{}), done: make(chan struct{})}
	c.cmd.Env = []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PGCDC_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	c.cmd.Stdout = io.Discard
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s run: %w", bin, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			if len(c.tail) == 40 {
				c.tail = append(c.tail[:0], c.tail[1:]...)
			}
			c.tail = append(c.tail, line)
			if m := listenRE.FindStringSubmatch(line); m != nil && c.addr == "" {
				c.addr = m[1]
				c.notifyLocked()
			}
			if (strings.Contains(line, "msg=streaming") || strings.Contains(line, `msg="pgcdc edge running"`)) && !c.streaming {
				c.streaming = true
				c.notifyLocked()
			}
			c.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stderr)
		err := c.cmd.Wait()
		c.mu.Lock()
		c.err = err
		c.notifyLocked()
		c.mu.Unlock()
		close(c.done)
	}()
	return c, nil
}

func (c *child) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// logTail returns the last lines the child logged.
func (c *child) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// waitStreaming waits until the child listens and streams the slot, and
// returns the server address.
func (c *child) waitStreaming(ctx context.Context, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		addr, ok, changed := c.addr, c.streaming, c.changed
		c.mu.Unlock()
		if addr != "" && ok {
			return addr, nil
		}
		select {
		case <-changed:
		case <-c.done:
			return "", fmt.Errorf("pgcdc run exited (%v) before streaming; its log:\n%s", c.err, c.logTail())
		case <-deadline.C:
			return "", fmt.Errorf("pgcdc run did not stream within %s; its log:\n%s", timeout, c.logTail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// stop sends SIGTERM and waits for a clean exit; after timeout it kills
// the process and says so.
func (c *child) stop(timeout time.Duration) error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("pgcdc run did not exit within %s of SIGTERM (killed); its log:\n%s", timeout, c.logTail())
	}
	if c.err != nil {
		return fmt.Errorf("pgcdc run exited with %v after SIGTERM; its log:\n%s", c.err, c.logTail())
	}
	return nil
}

// kill ends the child at once (error paths).
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// clusterCPU returns the CPU time of each process of the cluster whose
// data directory is dataDir: the postmaster and its children (backends,
// walsenders, background processes).
func clusterCPU(dataDir string) (map[int]time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil, fmt.Errorf("find the postmaster: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("postmaster.pid: %w", err)
	}
	return measure.GroupCPU(pm)
}
