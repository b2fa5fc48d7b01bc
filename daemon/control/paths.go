package control

import (
	"os"
	"path/filepath"
)

// DefaultStateDir is where scanfreed keeps its state unless told
// otherwise: $SCANFREE_STATE_DIR, else <user config dir>/scanfree. The CLI
// and the tray both find the daemon through it.
func DefaultStateDir() string {
	if v := os.Getenv("SCANFREE_STATE_DIR"); v != "" {
		return v
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "scanfree")
	}
	return ".scanfree"
}

// SocketName is the control socket's file name in the state dir (not on
// Windows, where the control channel is a named pipe: see SocketIn).
const SocketName = "control.sock"

// SocketIn is the control channel of the daemon with state dir stateDir,
// unless --socket named another: <stateDir>/control.sock, and on Windows
// the named pipe \\.\pipe\scanfree-<hash of the state dir>.
func SocketIn(stateDir string) string { return socketIn(stateDir) }

// DefaultSocket is the control socket of the daemon with state dir
// stateDir: $SCANFREE_SOCKET, else SocketIn(stateDir).
func DefaultSocket(stateDir string) string {
	if v := os.Getenv("SCANFREE_SOCKET"); v != "" {
		return v
	}
	return SocketIn(stateDir)
}
