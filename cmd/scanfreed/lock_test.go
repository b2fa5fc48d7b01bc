package main

import (
	"context"
	"testing"
	"time"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestLockFallback: while the screensaver announces the screen locked (by
// signal, as GNOME, KDE and others do), pages get 10061.
func TestLockFallback(t *testing.T) {
	bus := testutil.StartSessionBus(t)
	ss := testutil.StartScreensaver(t, bus)
	b := e2e.StartBackend(t)
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}, Env: []string{"DBUS_SESSION_BUS_ADDRESS=" + bus}})
	d.SignIn(b, "alice")
	lockState := func() string {
		st, _ := d.Control.Status(context.Background())
		return st.Lock
	}
	testutil.Eventually(t, 10*time.Second, "lock state unlocked", func() bool { return lockState() == "unlocked" })
	if r := d.CheckLogin(b); r.ErrCode != 0 {
		t.Fatalf("unlocked: %s", r.Body)
	}

	events, err := d.Control.Events(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	<-events // the current status
	ss.SetLocked(t, true)
	// Other changes (a posture report, the profile) send events too: wait
	// for the one that says locked, which must also say not ready.
	deadline := time.After(10 * time.Second)
	for locked := false; !locked; {
		select {
		case e := <-events:
			if locked = e.Status.Lock == "locked"; locked && e.Status.Ready {
				t.Fatalf("status event after locking says ready: %+v", e.Status)
			}
		case <-deadline:
			t.Fatal("no status event saying locked after the screen locked")
		}
	}
	if r := d.CheckLogin(b); r.ErrCode != 10061 {
		t.Fatalf("locked: %s", r.Body)
	}
	ss.SetLocked(t, false)
	testutil.Eventually(t, 10*time.Second, "check-login after unlocking", func() bool { return d.CheckLogin(b).ErrCode == 0 })
}
