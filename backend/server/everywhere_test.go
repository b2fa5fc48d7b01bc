package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestSignOutEverywhere: the person herself, from her account page, ends
// every sign-in at once: her other browser, her desktop's credential and
// the apps' tokens; a cross-site form cannot do it for her.
func TestSignOutEverywhere(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	tok := e.exchange(app, e.code(cred, app))
	here, there := e.browser(), e.browser()
	here.login("alice")
	there.login("alice")
	if resp, _ := here.post("/account/signout-everywhere", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.localhost"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site sign-out: %d", resp.StatusCode)
	}
	if resp, _ := there.get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatal("the cross-site post ended a session")
	}
	if _, page := here.get("/account"); !strings.Contains(page, `action="/account/signout-everywhere"`) {
		t.Fatal("no Sign out everywhere on the account page")
	}
	if resp, _ := here.post("/account/signout-everywhere", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for name, b := range map[string]*browser{"this browser": here, "her other browser": there} {
		if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s still signed in: %d", name, resp.StatusCode)
		}
	}
	if _, _, status := e.authorize(cred, deviceapi.SignInRequest{AppID: app.AppID, Scope: "snsapi_login",
		RedirectURI: "http://shop.localhost:8081/callback", State: "st"}); status != http.StatusUnauthorized {
		t.Errorf("her desktop after signing out everywhere: %d", status)
	}
	var ui apiErr
	e.getJSON("/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}.Encode(), &ui)
	if ui.ErrCode == 0 {
		t.Error("an app's token still works")
	}
	// She may sign in again.
	here.login("alice")
}
