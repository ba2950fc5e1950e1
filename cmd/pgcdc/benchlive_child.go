package main

import (
	"bufio"
	"context"
	"errors"
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
)

// liveChild is the `pgcdc run` process that pgcdc bench live measures.
// Its stderr (the text log) is drained by a goroutine that finds the
// listening address and the streaming line and keeps the last lines for
// error messages.
type liveChild struct {
	cmd       *exec.Cmd
	mu        sync.Mutex
	addr      string
	streaming bool
	tail      []string
	changed   chan struct{} // closed and replaced when addr, streaming or the process state change
	done      chan struct{}
	err       error // the process's exit, once done is closed
}

var liveListenRE = regexp.MustCompile(`msg="http server listening"(?: \S+)* addr=(\S+)`)

// startLiveChild starts `bin run -c cfgPath` and any extra arguments. The
// child does not inherit PGCDC_* variables: the bench's config is the whole
// configuration.
func startLiveChild(bin, cfgPath string, extra ...string) (*liveChild, error) {
	args := append([]string{"run", "-c", cfgPath}, extra...)
	c := &liveChild{cmd: exec.Command(bin, args...), changed: make(chan struct{}), done: make(chan struct{})}
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
			if m := liveListenRE.FindStringSubmatch(line); m != nil && c.addr == "" {
				c.addr = m[1]
				c.notifyLocked()
			}
			if strings.Contains(line, "msg=streaming") && !c.streaming {
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

func (c *liveChild) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// pid returns the child's process id.
func (c *liveChild) pid() int { return c.cmd.Process.Pid }

// logTail returns the last lines the child logged.
func (c *liveChild) logTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.tail, "\n")
}

// waitStreaming waits until the child listens and streams the slot, and
// returns the server address.
func (c *liveChild) waitStreaming(ctx context.Context, timeout time.Duration) (string, error) {
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
func (c *liveChild) stop(timeout time.Duration) error {
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
func (c *liveChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// clockTick is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTick = 100

// procCPU returns the user+system CPU time of process pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after the last ')' start at field 3 (state).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTick, nil
}

// procMem returns VmRSS and VmHWM (peak RSS) of process pid, in KiB.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return rss, hwm, nil
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
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := make(map[int]time.Duration)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid != pm {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			i := strings.LastIndexByte(string(b), ')')
			if err != nil || i < 0 {
				continue // gone, or not readable
			}
			f := strings.Fields(string(b[i+1:]))
			if len(f) < 2 || f[1] != strconv.Itoa(pm) { // field 4: the parent
				continue
			}
		}
		if cpu, err := procCPU(pid); err == nil {
			out[pid] = cpu
		}
	}
	return out, nil
}

// cpuSince returns the CPU time the processes of after used since before
// (a process that started in between counts whole).
func cpuSince(before, after map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, cpu := range after {
		d += cpu - before[pid]
	}
	return d
}

// selfCPU returns the CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage returns the 1-minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// raiseFileLimit raises this process's open-file limit to the hard limit
// (children inherit it) and checks that need descriptors fit.
func raiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("--clients needs about %d open files per process, the hard limit (ulimit -Hn) is %d", need, lim.Cur)
	}
	return nil
}
