//go:build linux

package pgcluster

import (
	"os/exec"
	"syscall"
)

// procAttr starts the server processes in their own process group, killed
// with this process (Pdeathsig), as the unprivileged user when running as
// root.
type procAttr struct{ cred *syscall.Credential }

func supported() error { return nil }

func (p *procAttr) runAs(uid, gid int) {
	p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func (p procAttr) apply(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process and every child it started.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// stopServer asks the postmaster to shut down: fast mode (SIGINT), or
// immediate mode (SIGQUIT), like a crash.
func stopServer(cmd *exec.Cmd, immediate bool) {
	sig := syscall.SIGINT
	if immediate {
		sig = syscall.SIGQUIT
	}
	_ = cmd.Process.Signal(sig)
}
