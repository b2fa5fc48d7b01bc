package peer

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ListenUnix: on Windows the socket file inherits the state dir's ACL,
// which os.MkdirAll gives to the owner.
func ListenUnix(path string) (net.Listener, error) { return net.Listen("unix", path) }

// sioAFUnixGetPeerPID is SIO_AF_UNIX_GETPEERPID (afunix.h):
// _WSAIOR(IOC_VENDOR, 256), the PID of an AF_UNIX socket's peer.
const sioAFUnixGetPeerPID = 0x58000100

// Allowed reports whether the process at the other end of the control
// connection runs as our user: its PID from the socket, its token's user
// SID against ours. A peer that cannot be identified is refused (fail
// closed). Not exercised by CI, which has no Windows.
func Allowed(r *http.Request) bool {
	c, ok := r.Context().Value(connKey{}).(*net.UnixConn)
	if !ok {
		return false
	}
	pid, err := peerPID(c)
	if err != nil {
		return false
	}
	same, err := sameUser(pid)
	return err == nil && same
}

// peerPID asks the socket for its peer's process ID.
func peerPID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var pid, n uint32
	var ioErr error
	if err := raw.Control(func(fd uintptr) {
		ioErr = windows.WSAIoctl(windows.Handle(fd), sioAFUnixGetPeerPID, nil, 0,
			(*byte)(unsafe.Pointer(&pid)), uint32(unsafe.Sizeof(pid)), &n, nil, 0)
	}); err != nil {
		return 0, err
	}
	if ioErr != nil {
		return 0, fmt.Errorf("peer PID: %w", ioErr)
	}
	if pid == 0 {
		return 0, errors.New("peer PID unknown")
	}
	return pid, nil
}

// sameUser reports whether process pid runs as this process's user.
func sameUser(pid uint32) (bool, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return false, fmt.Errorf("open peer process: %w", err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return false, fmt.Errorf("open peer token: %w", err)
	}
	defer tok.Close()
	peer, err := tok.GetTokenUser()
	if err != nil {
		return false, err
	}
	me, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return false, err
	}
	return peer.User.Sid.Equals(me.User.Sid), nil
}

// Program names the program at the other end of the request's
// connection by PID.
func Program(r *http.Request) string {
	c, ok := r.Context().Value(connKey{}).(*net.UnixConn)
	if !ok {
		return ""
	}
	pid, err := peerPID(c)
	if err != nil {
		return ""
	}
	return "pid " + strconv.Itoa(int(pid))
}
