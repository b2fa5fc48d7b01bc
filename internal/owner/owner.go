// Package owner answers whether another process runs as this process's
// user, for the control channel's two ends on Windows: the daemon
// checking the client of its named pipe, and the client (CLI, tray)
// checking that the pipe it reached is served by its own user's daemon,
// not by another user who took the name first. On other OSes the socket's
// peer credentials answer this (daemon/peer).
package owner
