package daemon

import (
	"net"
	"net/http"
)

// listenUnix: on Windows the socket file inherits the state dir's ACL,
// which os.MkdirAll gives to the owner.
func listenUnix(path string) (net.Listener, error) { return net.Listen("unix", path) }

func peerAllowed(*http.Request) bool { return true }
