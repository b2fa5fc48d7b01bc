package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// startSelf starts a desktop-or-phone sign-in to the backend in b, going
// on to next, and returns the state the hosted page was given.
func (b *browser) startSelf(next string) string {
	b.e.t.Helper()
	resp, body := b.get("/login/desktop/start?next=" + url.QueryEscape(next))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/connect/qrconnect" {
		b.e.t.Fatalf("start: %d %s %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	q := loc.Query()
	if q.Get("appid") != "scanfree-self" || q.Get("redirect_uri") != b.e.url+"/login/desktop" || q.Get("state") == "" {
		b.e.t.Fatalf("start sent the browser to %s", loc)
	}
	return q.Get("state")
}

// selfCode is what the hosted page does once the desktop confirmed: the
// daemon asks the device API for a code to the built-in app.
func (e *env) selfCode(cred, state string) string {
	e.t.Helper()
	redirect, ae, _ := e.authorize(cred, deviceapi.SignInRequest{AppID: "scanfree-self", Scope: "snsapi_login", RedirectURI: e.url + "/login/desktop", State: state})
	if redirect == "" {
		e.t.Fatalf("authorize for the built-in app: %+v", ae)
	}
	return strings.TrimPrefix(redirect, e.url)
}

// signedInAs reports who b's session is, "" when signed out.
func (b *browser) signedInAs() string {
	resp, body := b.get("/account")
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return body
}

// TestSelfSignIn: the backend's own sign-in by a desktop's confirmation
// (through the hosted page, as the built-in app) lands the person where
// she was going, freshly signed in; a code sent to someone else's
// browser, a state from another browser, another app's code, a replayed
// code and a disabled built-in app are each refused without a session.
func TestSelfSignIn(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("mallory")
	alice, mallory := e.browser(), e.browser()
	malloryCred := e.enrol("mallory")

	t.Run("login CSRF: mallory's code in a browser that started nothing", func(t *testing.T) {
		cb := e.selfCode(malloryCred, mallory.startSelf("/account"))
		if resp, body := alice.get(cb); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
			t.Fatalf("%d %.300s", resp.StatusCode, body)
		}
		if alice.signedInAs() != "" {
			t.Fatal("alice's browser was signed in as mallory")
		}
	})
	t.Run("login CSRF: mallory's code in a browser that started its own", func(t *testing.T) {
		alice.startSelf("/account")
		cb := e.selfCode(malloryCred, mallory.startSelf("/account"))
		if resp, _ := alice.get(cb); resp.StatusCode != http.StatusBadRequest || alice.signedInAs() != "" {
			t.Fatalf("%d, or alice's browser was signed in as mallory", resp.StatusCode)
		}
	})
	t.Run("another app's code", func(t *testing.T) {
		shop := e.app(admin.AppSpec{FastLogin: true})
		state := mallory.startSelf("/account")
		code := e.code(malloryCred, shop)
		if resp, _ := mallory.get("/login/desktop?code=" + code + "&state=" + state); resp.StatusCode != http.StatusBadRequest || mallory.signedInAs() != "" {
			t.Fatalf("%d, or a shop's code signed in to the backend", resp.StatusCode)
		}
		if tok := e.exchange(shop, code); tok.AccessToken == "" {
			t.Fatalf("the refused attempt spent the shop's code: %+v", tok.apiErr)
		}
	})

	aliceCred := e.enrol("alice")
	cb := e.selfCode(aliceCred, alice.startSelf("/account?from=desktop"))
	resp, _ := alice.get(cb)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account?from=desktop" {
		t.Fatalf("the callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if who := alice.signedInAs(); !strings.Contains(who, "alice") {
		t.Fatalf("not signed in as alice: %.300s", who)
	}
	ev, err := e.store.QueryEvents(context.Background(), storage.EventQuery{Kinds: []string{"login"}, Limit: 10})
	if err != nil || len(ev) != 1 || ev[0].Method != storage.MethodScanFree || ev[0].Result != storage.ResultOK {
		t.Fatalf("login events: %+v, %v", ev, err)
	}

	t.Run("a replayed code", func(t *testing.T) {
		again := e.browser()
		state := again.startSelf("/account")
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", state)
		if resp, _ := again.get("/login/desktop?" + q.Encode()); resp.StatusCode != http.StatusBadRequest || again.signedInAs() != "" {
			t.Fatalf("a replayed code: %d", resp.StatusCode)
		}
	})
	t.Run("a stale operator confirms on her desktop", func(t *testing.T) {
		if err := admin.SetRole(context.Background(), e.store, "alice", storage.RoleAdmin, "the test", e.clock()); err != nil {
			t.Fatal(err)
		}
		e.advance(ConsoleFreshnessPlus)
		resp, _ := alice.get("/admin/people")
		confirm := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(confirm, "confirm=1") {
			t.Fatalf("stale admin: %d %s", resp.StatusCode, confirm)
		}
		if _, body := alice.get(confirm); !strings.Contains(body, `id="self-signin" href="/login/desktop/start?login_hint=alice&amp;next=%2Fadmin%2Fpeople"`) {
			t.Fatalf("the confirm page offers no desktop sign-in back to the console: %.800s", body)
		}
		resp, _ = alice.get(e.selfCode(aliceCred, alice.startSelf("/admin/people")))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/people" {
			t.Fatalf("the callback: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := alice.get("/admin/people"); resp.StatusCode != http.StatusOK {
			t.Fatalf("after confirming on the desktop: %d", resp.StatusCode)
		}
	})
	t.Run("the built-in app disabled", func(t *testing.T) {
		if _, err := admin.SetAppDisabled(context.Background(), e.store, "scanfree-self", true, "the test", e.clock()); err != nil {
			t.Fatal(err)
		}
		resp, body := e.browser().get("/login/desktop/start?next=/account")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Use your password") || !strings.Contains(body, `id="password"`) {
			t.Fatalf("%d %.300s", resp.StatusCode, body)
		}
	})
}
