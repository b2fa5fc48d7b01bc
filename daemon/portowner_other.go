//go:build !linux

package daemon

// portOwner cannot tell who holds a port on this OS; the error then only
// says the port is taken.
func portOwner(int) (int, string) { return 0, "" }
