//go:build !windows

package peer

import (
	"net"
	"net/http"
	"os"
	"syscall"
)

// ListenUnix creates the socket under umask 0177, so it is born 0600 and
// there is no moment where another user could connect.
func ListenUnix(path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.Listen("unix", path)
}

// Allowed reports whether the process at the other end of the control
// connection runs as our user. The socket's mode already keeps others out;
// this holds even if someone loosened it. A peer whose UID cannot be read
// is refused (fail closed).
func Allowed(r *http.Request) bool {
	uid, ok := peerUID(r)
	return ok && uid == os.Getuid()
}

// peerUID reads the UID of the process at the other end of the request's
// Unix connection, and reports whether it could.
func peerUID(r *http.Request) (int, bool) {
	c, ok := r.Context().Value(connKey{}).(*net.UnixConn)
	if !ok {
		return -1, false
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, false
	}
	uid := -1
	if cerr := raw.Control(func(fd uintptr) { uid, err = fdPeerUID(int(fd)) }); cerr != nil {
		return -1, false
	}
	return uid, err == nil && uid >= 0
}

// Program names the program at the other end of the request's Unix
// connection, or "" when the OS does not say.
func Program(r *http.Request) string {
	c, ok := r.Context().Value(connKey{}).(*net.UnixConn)
	if !ok {
		return ""
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return ""
	}
	var name string
	raw.Control(func(fd uintptr) { name = fdPeerProgram(int(fd)) })
	return name
}
