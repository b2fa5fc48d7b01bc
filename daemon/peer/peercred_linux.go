package peer

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// fdPeerUID reads SO_PEERCRED of a connected Unix socket.
func fdPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// fdPeerProgram names the process at the other end of a connected Unix
// socket: its executable and PID, for the desktop-app dialog.
func fdPeerProgram(fd int) string {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || cred.Pid <= 0 {
		return ""
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(int(cred.Pid)) + "/exe")
	if err != nil {
		return "pid " + strconv.Itoa(int(cred.Pid))
	}
	return exe + " (pid " + strconv.Itoa(int(cred.Pid)) + ")"
}
