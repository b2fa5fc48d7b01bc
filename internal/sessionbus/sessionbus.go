// Package sessionbus connects to the user's DBus session bus without ever
// starting one. godbus (like libdbus) runs dbus-launch when no bus address
// is known; the dbus-daemon it forks outlives the program that asked,
// belongs to no session, and is seen by nothing else. A background service
// and a tray icon must find the desktop's bus or say there is none.
package sessionbus

import (
	"errors"
	"os"

	"github.com/godbus/dbus/v5"
)

// ErrNoBus is returned when neither DBUS_SESSION_BUS_ADDRESS nor
// $XDG_RUNTIME_DIR/bus names a session bus.
var ErrNoBus = errors.New("no DBus session bus: DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist (not a desktop session?)")

// Connect connects to the session bus and authenticates, as
// dbus.ConnectSessionBus does, but never autolaunches one.
func Connect(opts ...dbus.ConnOption) (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup(opts...)
	if err != nil {
		if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			return nil, ErrNoBus
		}
		return nil, err
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Known reports whether a session bus address is known without starting
// one: DBUS_SESSION_BUS_ADDRESS, or $XDG_RUNTIME_DIR/bus. Libraries that
// autolaunch (go-keyring through godbus) are used only when it is true.
func Known() bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		if _, err := os.Stat(rt + "/bus"); err == nil {
			return true
		}
	}
	return false
}

// Notify shows a desktop notification with icon (a freedesktop icon name,
// or "") through org.freedesktop.Notifications on the session bus. Without
// a session bus it fails instead of starting one.
func Notify(icon, summary, body string) error {
	conn, err := Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	return obj.Call("org.freedesktop.Notifications.Notify", 0,
		"scanfree", uint32(0), icon, summary, body, []string{}, map[string]dbus.Variant{}, int32(-1)).Err
}
