package daemon

import (
	"net"
	"net/http"

	"golang.org/x/sys/unix"
)

// peerUID reads SO_PEERCRED of the request's Unix connection.
func peerUID(r *http.Request) (int, bool) {
	c, ok := r.Context().Value(connKey{}).(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return 0, false
	}
	return int(cred.Uid), true
}
