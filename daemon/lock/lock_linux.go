package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/scanfree/scanfree/internal/sessionbus"
)

// screensavers are the session-bus services that announce locking with an
// ActiveChanged(bool) signal.
var screensavers = []struct{ name, path string }{
	{"org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver"},
	{"org.gnome.ScreenSaver", "/org/gnome/ScreenSaver"},
}

// watch subscribes to logind's LockedHint on the system bus and to the
// screensavers' ActiveChanged on the session bus. It returns an error only
// when neither bus can be used; the subscriptions end with ctx.
func watch(ctx context.Context, report func(source string, locked bool)) error {
	var problems []string
	ok := false
	if err := watchScreensavers(ctx, report); err != nil {
		problems = append(problems, "session bus: "+err.Error())
	} else {
		ok = true
	}
	if err := watchLogind(ctx, report); err != nil {
		problems = append(problems, "logind: "+err.Error())
	} else {
		ok = true
	}
	if !ok {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func watchScreensavers(ctx context.Context, report func(string, bool)) error {
	conn, err := sessionbus.Connect(dbus.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, s := range screensavers {
		if err := conn.AddMatchSignal(dbus.WithMatchInterface(s.name), dbus.WithMatchMember("ActiveChanged")); err != nil {
			conn.Close()
			return err
		}
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	// The signal subscription is in place; now read the current state, so
	// no change can fall between the two.
	for _, s := range screensavers {
		var active bool
		if err := conn.Object(s.name, dbus.ObjectPath(s.path)).CallWithContext(ctx, s.name+".GetActive", 0).Store(&active); err == nil {
			report(s.name, active)
		}
	}
	go follow(ctx, conn, ch, func(sig *dbus.Signal) {
		source, ok := strings.CutSuffix(sig.Name, ".ActiveChanged")
		if !ok || len(sig.Body) != 1 {
			return
		}
		if active, ok := sig.Body[0].(bool); ok {
			report(source, active)
		}
	})
	return nil
}

func watchLogind(ctx context.Context, report func(string, bool)) error {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return err
	}
	mgr := conn.Object("org.freedesktop.login1", "/org/freedesktop/login1")
	var path dbus.ObjectPath
	err = mgr.CallWithContext(ctx, "org.freedesktop.login1.Manager.GetSessionByPID", 0, uint32(os.Getpid())).Store(&path)
	if err != nil {
		if id := os.Getenv("XDG_SESSION_ID"); id != "" {
			err = mgr.CallWithContext(ctx, "org.freedesktop.login1.Manager.GetSession", 0, id).Store(&path)
		}
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("no login session: %w", err)
	}
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(path), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"),
		dbus.WithMatchMember("PropertiesChanged")); err != nil {
		conn.Close()
		return err
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	v, err := conn.Object("org.freedesktop.login1", path).GetProperty("org.freedesktop.login1.Session.LockedHint")
	if err != nil {
		conn.Close()
		return fmt.Errorf("read LockedHint: %w", err)
	}
	if locked, ok := v.Value().(bool); ok {
		report("logind", locked)
	}
	go follow(ctx, conn, ch, func(sig *dbus.Signal) {
		if len(sig.Body) < 2 {
			return
		}
		changed, ok := sig.Body[1].(map[string]dbus.Variant)
		if !ok {
			return
		}
		if v, ok := changed["LockedHint"]; ok {
			if locked, ok := v.Value().(bool); ok {
				report("logind", locked)
			}
		}
	})
	return nil
}

// follow hands every signal on ch to handle until ctx ends, then closes conn.
func follow(ctx context.Context, conn *dbus.Conn, ch <-chan *dbus.Signal, handle func(*dbus.Signal)) {
	defer conn.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-ch:
			if !ok {
				return
			}
			handle(sig)
		}
	}
}
