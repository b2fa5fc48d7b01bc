//go:build !windows

package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/scanfree/scanfree/daemon/peer"
)

// listenControl listens on the control socket with mode 0600. A socket left
// behind by a daemon that died is replaced; one that answers means another
// daemon runs with the same state dir.
func listenControl(path string) (net.Listener, error) {
	if _, err := os.Stat(path); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var d net.Dialer
		if c, err := d.DialContext(ctx, "unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("another scanfreed is running with control socket %s; stop it first or pass another --state-dir", path)
		}
		os.Remove(path)
	}
	ln, err := peer.ListenUnix(path)
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}
