package daemon

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/Microsoft/go-winio"

	"github.com/scanfree/scanfree/daemon/control"
	"github.com/scanfree/scanfree/internal/owner"
)

// listenControl listens on the control named pipe. Its DACL admits only
// this user and SYSTEM (no inherited entries: "P"), it refuses remote
// clients, and the pipe must be new: a name another process already
// serves (another daemon with this state dir, or a squatter) is an error,
// not shared. peer.Allowed still checks each client's token.
func listenControl(path string) (net.Listener, error) {
	if err := control.CheckPipeName(path); err != nil {
		return nil, err
	}
	// A pipe that answers means another daemon serves this state dir.
	// Windows would also refuse to create it again (the first instance
	// is created, never opened), Wine does not; this says why either way.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := winio.DialPipeContext(ctx, path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another scanfreed is running with control pipe %s; stop it first or pass another --state-dir", path)
	}
	sid, err := owner.UserSID()
	if err != nil {
		return nil, fmt.Errorf("control pipe %s: %w", path, err)
	}
	ln, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: "D:P(A;;GA;;;" + sid + ")(A;;GA;;;SY)"})
	if err != nil {
		return nil, fmt.Errorf("listen on control pipe %s (is another scanfreed running with this state dir? stop it first or pass another --state-dir): %w", path, err)
	}
	return plugFirstInstance(ln, path), nil
}

// plugged is a pipe listener with the connection that holds its first
// instance; Close closes both.
type plugged struct {
	net.Listener
	plug net.Conn
}

func (p *plugged) Close() error {
	p.plug.Close()
	return p.Listener.Close()
}

// plugFirstInstance connects to the listener's first pipe instance
// before anyone else can. go-winio creates that instance without read or
// write access so that Windows lets no client connect to it until Accept
// makes the next one; Wine lets a client connect to it anyway, and that
// client then waits forever for an answer (seen with the CLI under Wine
// 8.0). On Windows this dial finds no listening instance and gives up
// after a moment, before Serve starts; under Wine it takes the first
// instance, which is held until the listener closes.
func plugFirstInstance(ln net.Listener, path string) net.Listener {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c, err := winio.DialPipeContext(ctx, path)
	if err != nil {
		return ln
	}
	return &plugged{Listener: ln, plug: c}
}
