package tray

import (
	"errors"

	"github.com/godbus/dbus/v5"
)

// checkBus makes sure a session bus is there: the StatusNotifierItem lives
// on it, and fyne.io/systray panics on Quit without one.
func checkBus() error {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return errors.New("no DBus session bus (is this a desktop session? DBUS_SESSION_BUS_ADDRESS is not usable): " + err.Error())
	}
	conn.Close()
	return nil
}
