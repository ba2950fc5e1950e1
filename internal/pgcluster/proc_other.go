//go:build !linux

package pgcluster

import (
	"errors"
	"os/exec"
	"runtime"
)

// procAttr is empty: throwaway clusters need Linux (process groups, a
// parent-death signal, and switching to an unprivileged user as root).
type procAttr struct{}

func supported() error {
	return errors.New("throwaway PostgreSQL clusters (pgcdc demo, bench and the tests) run on Linux only, not " + runtime.GOOS +
		": point pgcdc run at your own PostgreSQL instead")
}

func (p *procAttr) runAs(uid, gid int) {}
func (p procAttr) apply(cmd *exec.Cmd) {}
func killGroup(cmd *exec.Cmd)          { _ = cmd.Process.Kill() }
func stopServer(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
