package dialog

import "github.com/scanfree/scanfree/internal/sessionbus"

// Notify shows a desktop notification through org.freedesktop.Notifications
// on the session bus. Without a session bus it fails instead of starting
// one (as beeep's autolaunch would): a dbus-daemon forked by a background
// service outlives it and no notification server listens there anyway.
func Notify(title, msg string) error { return sessionbus.Notify("", title, msg) }
