package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/scanfree/scanfree/daemon/peer"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// listenLoopback listens on 127.0.0.1 and [::1] at the first port of
// first, then deviceapi.DefaultPorts, where both can be had. A machine without IPv6
// loopback gets 127.0.0.1 only. When every port is taken the error names
// the programs holding them; the ports passed over are in skipped. A port
// held by another scanfreed of this user is an error: that one already
// answers this person's pages, and a second would only confuse which
// desktop confirms.
func listenLoopback(first int) (lns []net.Listener, port int, skipped []string, err error) {
	ports := []int{first}
	for _, p := range deviceapi.DefaultPorts() {
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	var taken []string
	for _, p := range ports {
		v4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err == nil {
			v6, err6 := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(p)))
			if err6 == nil {
				return []net.Listener{v4, v6}, p, taken, nil
			}
			if !errors.Is(err6, syscall.EADDRINUSE) {
				return []net.Listener{v4}, p, taken, nil // no IPv6 loopback here
			}
			v4.Close()
			err = err6
		}
		if pid, name := peer.PortOwner(p); pid != 0 && pid != os.Getpid() && isDaemon(name) {
			return nil, 0, nil, fmt.Errorf("scanfreed (PID %d) already serves you on port %d: use it (scanfreed status), or stop it first (scanfreed service stop, or kill %d)", pid, p, pid)
		}
		taken = append(taken, describePort(p, err))
	}
	return nil, 0, nil, fmt.Errorf("no free port for the local API: %s; stop those programs or set port in config.yaml", strings.Join(taken, ", "))
}

// isDaemon reports whether a process named name (its comm, at most 15
// bytes) is a scanfreed.
func isDaemon(name string) bool { return strings.TrimSuffix(name, ".exe") == "scanfreed" }

func describePort(p int, err error) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%d (%v)", p, err)
	}
	if pid, name := peer.PortOwner(p); pid != 0 {
		return fmt.Sprintf("%d is taken by PID %d (%s)", p, pid, name)
	}
	return fmt.Sprintf("%d is taken", p)
}
