//go:build !windows

package daemon

import (
	"net"
	"net/http"
	"os"
	"syscall"
)

// listenUnix creates the socket under umask 0177, so it is born 0600 and
// there is no moment where another user could connect.
func listenUnix(path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.Listen("unix", path)
}

// peerAllowed reports whether the process at the other end of the control
// connection runs as our user. The socket's mode already keeps others out;
// this holds even if someone loosened it. A peer whose UID cannot be read
// is refused (fail closed).
func peerAllowed(r *http.Request) bool {
	uid, ok := peerUID(r)
	return ok && uid == os.Getuid()
}
