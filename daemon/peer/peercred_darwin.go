package peer

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// fdPeerUID reads LOCAL_PEERCRED of a connected Unix socket.
func fdPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// fdPeerProgram names the process at the other end by LOCAL_PEERPID, for
// the desktop-app dialog: its PID only (its executable's path would need
// libproc, which needs cgo or purego; not worth it for a name).
func fdPeerProgram(fd int) string {
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil || pid <= 0 {
		return ""
	}
	return "pid " + strconv.Itoa(pid)
}
