//go:build !windows

package tray

import (
	"os/exec"
	"syscall"
)

// detach lets a started daemon outlive the tray.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
