//go:build !windows

package control

import (
	"context"
	"net"
	"path/filepath"
)

func socketIn(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// dial connects to the control socket. Its mode (0600) and the daemon's
// peer credential check keep other users out; the socket's place in the
// user's own state dir keeps them from serving it.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
