package peer

import "golang.org/x/sys/unix"

// fdPeerUID reads LOCAL_PEERCRED of a connected Unix socket.
func fdPeerUID(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// fdPeerProgram is not known on this OS; the dialog names the app only.
func fdPeerProgram(int) string { return "" }
