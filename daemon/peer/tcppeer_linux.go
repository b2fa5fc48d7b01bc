package peer

import (
	"fmt"
	"net/netip"
	"os"
)

// checkTCPPeer finds the UID owning the client end of the connection in
// /proc/net/tcp{,6} and admits only the daemon's own. A client it cannot
// find is refused: fail closed.
func checkTCPPeer(local, remote netip.AddrPort) error {
	uid, err := tcpPeerUID(local, remote)
	if err != nil {
		return fmt.Errorf("owner of %s unknown: %w", remote, err)
	}
	if uid != os.Getuid() {
		return fmt.Errorf("the client runs as UID %d, not as this daemon's user %d", uid, os.Getuid())
	}
	return nil
}
