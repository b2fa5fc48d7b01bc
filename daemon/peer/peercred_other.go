//go:build !linux && !darwin && !windows

package peer

import "errors"

// fdPeerUID cannot read the peer's UID on this OS, so every control
// connection is refused: fail closed rather than trust the socket mode alone.
func fdPeerUID(int) (int, error) {
	return -1, errors.New("peer credentials are not supported on this OS")
}

// fdPeerProgram is not known on this OS; the dialog names the app only.
func fdPeerProgram(int) string { return "" }
