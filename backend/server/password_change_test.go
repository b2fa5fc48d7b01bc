package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
)

// TestPasswordChange: a person changes her own password on the account
// page. A wrong current password is refused and counted (so a signed-in
// browser is no way to guess it), as are a short or mistyped new one; the
// change ends every sign-in of hers, this browser's and her desktop's
// too, and only the new password signs in afterwards. A cross-site post
// is refused before any of it.
func TestPasswordChange(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"}})
	cred := e.enrol("alice")
	b := e.browser()
	b.login("alice")
	if _, body := b.get("/account"); !strings.Contains(body, `href="/account/password"`) {
		t.Fatal("the account page has no way to change the password")
	}
	change := func(current, pw, again string) (*http.Response, string) {
		return b.post("/account/password", url.Values{"current": {current}, "password": {pw}, "again": {again}}, nil)
	}
	for _, c := range []struct {
		name, current, pw, again string
		status                   int
		says                     string
	}{
		{"wrong current", "guess", "new-password-1", "new-password-1", http.StatusUnauthorized, "not your current password"},
		{"too short", "alice-password", "short", "short", http.StatusBadRequest, "at least 8"},
		{"mistyped", "alice-password", "new-password-1", "new-password-2", http.StatusBadRequest, "differ"},
		{"the same", "alice-password", "alice-password", "alice-password", http.StatusBadRequest, "the one you have"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if resp, body := change(c.current, c.pw, c.again); resp.StatusCode != c.status || !strings.Contains(body, c.says) {
				t.Fatalf("%d, want %d saying %q", resp.StatusCode, c.status, c.says)
			}
		})
	}
	u, _ := e.store.GetUserByUsername(t.Context(), "alice")
	if ev, _ := e.store.ListEvents(t.Context(), u.ID, "signin_refused", 10); len(ev) != 1 || !strings.Contains(ev[0].Detail, "Wrong current password") {
		t.Fatalf("the wrong current password is not in her log once: %+v", ev)
	}

	// From another site: refused, nothing changed.
	if resp, _ := b.post("/account/password", url.Values{"current": {"alice-password"}, "password": {"evil-password"}, "again": {"evil-password"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.localhost"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site change: %d, want 403", resp.StatusCode)
	}

	if resp, body := change("alice-password", "new-password-1", "new-password-1"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Password changed") {
		t.Fatalf("the change: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("this browser is still signed in after the change: %d", resp.StatusCode)
	}
	if redirect, _, _ := e.authorize(cred, deviceSignIn(app)); redirect != "" {
		t.Fatal("her desktop still mints codes after the change")
	}
	if resp, _ := e.browser().post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, nil); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("the old password still signs in")
	}
	if resp, _ := e.browser().post("/login", url.Values{"username": {"alice"}, "password": {"new-password-1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password does not sign in: %d", resp.StatusCode)
	}
}
