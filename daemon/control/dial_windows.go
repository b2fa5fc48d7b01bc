package control

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"github.com/scanfree/scanfree/internal/owner"
)

// pipePrefix begins every scanfreed control pipe's name.
const pipePrefix = `\\.\pipe\scanfree-`

// socketIn names the state dir's pipe: pipe names are one namespace for
// the whole machine, so the name is a hash of the state dir's absolute,
// case-folded path, which is the user's own.
func socketIn(stateDir string) string {
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	sum := sha256.Sum256([]byte(strings.ToLower(filepath.Clean(stateDir))))
	return pipePrefix + hex.EncodeToString(sum[:10])
}

// dial connects to the daemon's named pipe (as tailscale's safesocket
// does) and checks that the process serving it runs as this user: any
// user may create a pipe of any free name, so one who got there first
// could otherwise read what the tray and CLI send, approvals included.
func dial(ctx context.Context, path string) (net.Conn, error) {
	if err := CheckPipeName(path); err != nil {
		return nil, err
	}
	c, err := winio.DialPipeContext(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := checkServer(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// checkServer refuses a pipe whose server is not this user's process.
func checkServer(c net.Conn) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("control pipe: cannot identify its server")
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return fmt.Errorf("control pipe: read its server's PID: %w", err)
	}
	same, err := owner.SameUser(pid)
	if err != nil {
		return fmt.Errorf("control pipe: its server (PID %d): %w", pid, err)
	}
	if !same {
		return fmt.Errorf("control pipe %s is served by another user's process (PID %d), not your scanfreed; stop that process or pass another --state-dir", c.RemoteAddr(), pid)
	}
	return nil
}

// CheckPipeName refuses a control channel that is not a named pipe: on
// Windows --socket names a pipe.
func CheckPipeName(path string) error {
	if !strings.HasPrefix(path, `\\.\pipe\`) {
		return fmt.Errorf("control channel %s: on Windows it is a named pipe; pass --socket \\\\.\\pipe\\NAME or leave --socket unset", path)
	}
	return nil
}
