package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
)

// TestDesktopCap: with --max-desktops 2, a third desktop is refused on
// the /device page with the cap and how to free a slot, and refused at
// its token poll when an operator approved it; the log records both.
// With evict-oldest the third is enrolled and the least recently used one
// is signed out, told why.
func TestDesktopCap(t *testing.T) {
	t.Run("refuse", func(t *testing.T) {
		e := newEnvWith(t, func(c *server.Config) { c.MaxDesktops = 2 })
		e.user("alice")
		e.enrol("alice")
		e.enrol("alice")
		b := e.browser()
		b.login("alice")
		da := e.startDeviceFlow()
		resp, body := b.post("/device/decide", url.Values{"user_code": {da.UserCode}, "decision": {"approve"}}, nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "2 signed-in desktops, the most allowed") || !strings.Contains(body, "/account") {
			t.Fatalf("a third desktop on the device page: %d %.400s", resp.StatusCode, body)
		}
		if _, err := admin.ApproveDevice(context.Background(), e.store, "alice", da.UserCode, e.clock()); err != nil {
			t.Fatal(err)
		}
		tok, oe := e.pollToken(da.DeviceCode)
		if tok.AccessToken != "" || oe.Error != "access_denied" || !strings.Contains(oe.Description, "most allowed") {
			t.Fatalf("a third desktop approved by an operator: %+v %+v", tok, oe)
		}
		if ev, _ := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"signin_refused"}}); len(ev) != 2 || ev[0].Reason != "cap" {
			t.Fatalf("the log of the refusals: %+v", ev)
		}
		if d, _ := e.store.ListDevices(context.Background(), ""); len(d) != 2 {
			t.Fatalf("%d desktops enrolled", len(d))
		}
	})
	t.Run("evict-oldest", func(t *testing.T) {
		e := newEnvWith(t, func(c *server.Config) { c.MaxDesktops = 2; c.MaxDesktopsPolicy = server.CapEvictOldest })
		e.user("alice")
		app := e.app(admin.AppSpec{FastLogin: true})
		old := e.enrol("alice")
		e.advance(time.Minute)
		recent := e.enrol("alice")
		e.advance(time.Minute)
		e.code(recent, app) // used last: stays
		e.advance(time.Minute)
		third := e.enrol("alice")
		if _, _, status := e.authorize(old, deviceSignIn(app)); status != http.StatusUnauthorized {
			t.Fatalf("the least recently used desktop after a third: %d", status)
		}
		for _, cred := range []string{recent, third} {
			if redirect, ae, _ := e.authorize(cred, deviceSignIn(app)); redirect == "" {
				t.Fatalf("a desktop that should stay: %+v", ae)
			}
		}
		var ae apiErr
		resp := e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + old}}, nil, &ae)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ae.ErrMsg, "at most 2 desktops") {
			t.Fatalf("what the evicted desktop is told: %d %+v", resp.StatusCode, ae)
		}
	})
}

// TestSessionLifetimes: a web session ends after the idle timeout unused,
// and at its absolute lifetime however busy.
func TestSessionLifetimes(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.SessionIdle = 30 * time.Minute; c.SessionTTL = 2 * time.Hour })
	e.user("alice")
	b := e.browser()
	b.login("alice")
	signedIn := func() bool {
		resp, _ := b.get("/account")
		return resp.StatusCode == http.StatusOK
	}
	for range 4 { // used every 25 minutes: it stays, up to its lifetime
		e.advance(25 * time.Minute)
		if !signedIn() {
			t.Fatal("a session used every 25 minutes ended before its lifetime")
		}
	}
	e.advance(25 * time.Minute) // 2 h 5 min after the sign-in
	if signedIn() {
		t.Fatal("a session outlived its absolute lifetime")
	}
	b.login("alice")
	e.advance(31 * time.Minute)
	if signedIn() {
		t.Fatal("a session unused for 31 minutes still works")
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the idle timeout: %d", resp.StatusCode)
	}
}
