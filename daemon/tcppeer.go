package daemon

import (
	"log/slog"
	"net"
	"net/netip"
)

// peerListener hands the local API only connections whose client end
// belongs to the daemon's own user. Origin is a browser's promise, not
// curl's: without this another user of the machine (or a container that
// shares its loopback) could forge an Origin, read who is signed in and
// raise a genuine dialog. Refused connections are closed before TLS.
type peerListener struct {
	net.Listener
	log *slog.Logger
}

// Accept returns the next connection from this user; others are closed.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkTCPPeer(addrPort(c.LocalAddr()), addrPort(c.RemoteAddr())); err != nil {
			l.log.Warn("refused a connection to the local API", "from", c.RemoteAddr().String(), "reason", err.Error())
			c.Close()
			continue
		}
		return c, nil
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
