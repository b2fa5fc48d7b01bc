package dialog

import (
	"github.com/godbus/dbus/v5"

	"github.com/scanfree/scanfree/internal/sessionbus"
)

// Notify shows a desktop notification through org.freedesktop.Notifications
// on the session bus. Without a session bus it fails instead of starting
// one (as beeep's autolaunch would): a dbus-daemon forked by a background
// service outlives it and no notification server listens there anyway.
func Notify(title, msg string) error {
	conn, err := sessionbus.Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	return obj.Call("org.freedesktop.Notifications.Notify", 0,
		"scanfree", uint32(0), "", title, msg, []string{}, map[string]dbus.Variant{}, int32(-1)).Err
}
