package testutil

import (
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// Screensaver plays org.freedesktop.ScreenSaver on a session bus of the
// test's, so that a daemon started with that bus can be told the screen
// locked (by signal, as GNOME, KDE and others announce it).
type Screensaver struct {
	conn *dbus.Conn

	mu     sync.Mutex
	active bool
}

const (
	screensaverName = "org.freedesktop.ScreenSaver"
	screensaverPath = dbus.ObjectPath("/org/freedesktop/ScreenSaver")
)

// StartScreensaver owns the screensaver's name on the bus at address bus
// until the test ends.
func StartScreensaver(t testing.TB, bus string) *Screensaver {
	t.Helper()
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &Screensaver{conn: conn}
	if err := conn.Export(s, screensaverPath, screensaverName); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(screensaverName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", screensaverName, reply, err)
	}
	return s
}

// GetActive is the screensaver's D-Bus method: whether it is locked.
func (s *Screensaver) GetActive() (bool, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active, nil
}

// SetLocked locks or unlocks the screen and announces it.
func (s *Screensaver) SetLocked(t testing.TB, locked bool) {
	t.Helper()
	s.mu.Lock()
	s.active = locked
	s.mu.Unlock()
	if err := s.conn.Emit(screensaverPath, screensaverName+".ActiveChanged", locked); err != nil {
		t.Fatal(err)
	}
}
