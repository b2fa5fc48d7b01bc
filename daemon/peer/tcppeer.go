// Package peer answers "who is at the other end" for the daemon: the
// control socket's peer (its user, by SO_PEERCRED, LOCAL_PEERCRED or the
// peer process's token on Windows, and its program), and the local API's
// TCP clients (the owner of the connecting socket, from /proc/net/tcp or
// GetExtendedTcpTable). Every check fails closed. One file per OS behind
// the portable ones.
package peer

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
)

type connKey struct{}

// ConnContext is the control server's ConnContext: it remembers the
// connection (a Unix socket, or a named pipe on Windows) for Allowed and
// Program.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Listener hands the local API only connections whose client end
// belongs to the daemon's own user. Origin is a browser's promise, not
// curl's: without this another user of the machine (or a container that
// shares its loopback) could forge an Origin, read who is signed in and
// raise a genuine dialog. Refused connections are closed before TLS.
type Listener struct {
	net.Listener
	Log *slog.Logger
}

// Accept returns the next connection from this user; others are closed.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkTCPPeer(addrPort(c.LocalAddr()), addrPort(c.RemoteAddr())); err != nil {
			l.Log.Warn("refused a connection to the local API", "from", c.RemoteAddr().String(), "reason", err.Error())
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
