package peer

import (
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sys/windows"

	"github.com/scanfree/scanfree/internal/owner"
)

// Allowed reports whether the process at the other end of the control
// named pipe runs as our user: its PID from the pipe
// (GetNamedPipeClientProcessId), its token's user SID against ours. The
// pipe's DACL already keeps other users out; this holds even if it were
// loosened. A client that cannot be identified is refused (fail closed).
func Allowed(r *http.Request) bool {
	pid, err := clientPID(r)
	if err != nil {
		return false
	}
	same, err := owner.SameUser(pid)
	return err == nil && same
}

// clientPID asks the request's named pipe for its client's process ID.
func clientPID(r *http.Request) (uint32, error) {
	f, ok := r.Context().Value(connKey{}).(interface{ Fd() uintptr })
	if !ok {
		return 0, errors.New("not a named pipe")
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return 0, fmt.Errorf("pipe client PID: %w", err)
	}
	if pid == 0 {
		return 0, errors.New("pipe client PID unknown")
	}
	return pid, nil
}

// Program names the program at the other end of the request's pipe.
func Program(r *http.Request) string {
	pid, err := clientPID(r)
	if err != nil {
		return ""
	}
	return owner.Program(pid)
}
