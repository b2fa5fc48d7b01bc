package system

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd's process when the process that
// started it ends, so a test binary killed by its -timeout (which runs no
// cleanup) or an interrupted `make demo` leaves no servers behind.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
