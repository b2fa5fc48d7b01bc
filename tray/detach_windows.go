package tray

import (
	"os/exec"
	"syscall"
)

// detach lets a started daemon outlive the tray.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: 0x00000008} // DETACHED_PROCESS
}
