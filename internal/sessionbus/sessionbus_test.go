package sessionbus_test

import (
	"errors"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/testutil"
	"github.com/scanfree/scanfree/internal/sessionbus"
)

func TestConnect(t *testing.T) {
	t.Run("no bus: an error, and none started", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		conn, err := sessionbus.Connect()
		if !errors.Is(err, sessionbus.ErrNoBus) {
			if conn != nil {
				conn.Close()
			}
			t.Fatalf("Connect without a bus: %v, want ErrNoBus", err)
		}
	})
	t.Run("the test's own bus", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", testutil.StartSessionBus(t))
		conn, err := sessionbus.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if len(conn.Names()) == 0 {
			t.Fatal("connected without a unique name (no Hello)")
		}
	})
}

func TestKnown(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if sessionbus.Known() {
		t.Fatal("a bus is known with no address and no $XDG_RUNTIME_DIR/bus")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "autolaunch:")
	if sessionbus.Known() {
		t.Fatal("autolaunch: counts as a known bus")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
	if !sessionbus.Known() {
		t.Fatal("an address is not a known bus")
	}
}
