package tray

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/scanfree/scanfree/internal/sessionbus"
)

// checkBus makes sure a session bus is there: the StatusNotifierItem lives
// on it, and fyne.io/systray panics on Quit without one.
func checkBus() error {
	conn, err := sessionbus.Connect()
	if err != nil {
		return errors.New("no DBus session bus (is this a desktop session? DBUS_SESSION_BUS_ADDRESS is not usable): " + err.Error())
	}
	conn.Close()
	return nil
}

// waitExported waits until this process's StatusNotifierItem answers for
// its properties. fyne.io/systray builds the exported properties from the
// title it holds and only then starts forwarding SetTitle to them, so a
// title set in between would be lost; the tray updates only after this.
func waitExported(ctx context.Context) error {
	conn, err := sessionbus.Connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	obj := conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", os.Getpid()), "/StatusNotifierItem")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := obj.GetProperty("org.kde.StatusNotifierItem.Title"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the status item did not appear on the session bus: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// notify shows a desktop notification (GNOME, KDE, dunst, mako all serve
// org.freedesktop.Notifications).
func notify(summary, body string) error { return sessionbus.Notify("dialog-warning", summary, body) }

// hostMissing says why the icon cannot show, or "": a StatusNotifierItem
// is drawn only by a host (KDE, XFCE, most panels; GNOME only with the
// AppIndicator extension), and without one the tray runs invisible.
func hostMissing() string {
	conn, err := sessionbus.Connect()
	if err != nil {
		return ""
	}
	defer conn.Close()
	v, err := conn.Object("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher").GetProperty("org.kde.StatusNotifierWatcher.IsStatusNotifierHostRegistered")
	if registered, ok := v.Value().(bool); err == nil && ok && registered {
		return ""
	}
	return "No panel on this desktop shows tray icons (no StatusNotifier host), so scanfree's icon is hidden. " +
		"On GNOME install the AppIndicator extension (apt install gnome-shell-extension-appindicator) and log in again. " +
		"Until then sign-ins still ask in a window, and `scanfreed pending` and `scanfreed approve` answer from a terminal."
}
