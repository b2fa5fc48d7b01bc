package server_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestCSRF: every state-changing form refuses cross-origin submissions,
// whether the browser says so with Sec-Fetch-Site or only with Origin.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	da := e.startDeviceFlow()
	cred := e.enrol("alice")
	var me struct {
		DeviceID string `json:"device_id"`
	}
	e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + cred}}, nil, &me)
	b := e.browser()
	b.login("alice")

	attacks := []struct {
		name   string
		header http.Header
	}{
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.example"}}},
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://evil.localhost:8080"}}},
		{"Origin only", http.Header{"Sec-Fetch-Site": nil, "Origin": {"http://evil.example"}}},
		{"null Origin", http.Header{"Sec-Fetch-Site": nil, "Origin": {"null"}}},
	}
	forms := []struct {
		path string
		form url.Values
	}{
		{"/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}},
		{"/logout", nil},
		{"/device", url.Values{"user_code": {da.UserCode}}},
		{"/device/decide", url.Values{"user_code": {da.UserCode}, "decision": {"approve"}}},
		{"/account/devices/" + me.DeviceID + "/revoke", nil},
		{"/account/apps/wxany/revoke", nil},
	}
	for _, a := range attacks {
		for _, f := range forms {
			t.Run(a.name+" "+f.path, func(t *testing.T) {
				resp, _ := b.post(f.path, f.form, a.header)
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403", resp.StatusCode)
				}
			})
		}
	}
	// Nothing changed: the device is active, the authorization pending, the session alive.
	if resp, _ := b.get("/account"); resp.StatusCode != 200 {
		t.Fatalf("session lost after refused logout: %d", resp.StatusCode)
	}
	if d, _ := e.store.GetDevice(t.Context(), me.DeviceID); !d.Active() {
		t.Fatal("device revoked by a cross-origin post")
	}
	if _, oe := e.pollToken(da.DeviceCode); oe.Error != "authorization_pending" {
		t.Fatalf("device authorization changed by a cross-origin post: %+v", oe)
	}
}

func TestLoginRateLimit(t *testing.T) {
	// The test is the load balancer: X-Forwarded-For names the client.
	e := newEnvWith(t, func(c *server.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	e.user("alice")
	b := e.browser()
	for i := range 5 {
		resp, body := b.post("/login", url.Values{"username": {"alice"}, "password": {"guess"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
			t.Fatalf("wrong password %d: %d", i, resp.StatusCode)
		}
	}
	resp, _ := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 failures: %d, want 429", resp.StatusCode)
	}
	// A stranger's failures from elsewhere do not lock the owner out of
	// her own machine: the username's budget is kept per address.
	for range 5 {
		e.browser().post("/login", url.Values{"username": {"alice"}, "password": {"guess"}}, http.Header{"X-Forwarded-For": {"203.0.113.7"}})
	}
	if resp, _ := e.browser().post("/login", url.Values{"username": {"alice"}, "password": {"guess"}}, http.Header{"X-Forwarded-For": {"203.0.113.7"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the stranger's 6th try: %d, want 429", resp.StatusCode)
	}
	if resp, _ := e.browser().post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, http.Header{"X-Forwarded-For": {"198.51.100.20"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner from her own address after a stranger's lockout: %d, want 303", resp.StatusCode)
	}
	// Unknown users get the same answer as wrong passwords.
	resp, body := e.browser().post("/login", url.Values{"username": {"nobody"}, "password": {"x"}}, http.Header{"X-Forwarded-For": {"192.0.2.4"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
}

func TestAccountPage(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("bob")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	bobCred := e.enrol("bob")
	tok := e.exchange(app, e.code(cred, app))
	pending := e.code(cred, app) // minted, not yet redeemed
	bobTok := e.exchange(app, e.code(bobCred, app))

	if resp, _ := e.browser().get("/account"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("anonymous /account: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	b := e.browser()
	resp, _ := b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}, "next": {"//evil.example/"}}, nil)
	if resp.Header.Get("Location") != "/account" {
		t.Fatalf("open redirect after login: %s", resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		session = c
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v is not HttpOnly and SameSite", session)
	}
	resp, body := b.get("/account")
	if resp.StatusCode != 200 {
		t.Fatalf("/account: %d", resp.StatusCode)
	}
	// Her sign-ins say to which app, how, and from which desktop.
	for _, want := range []string{"Alice", "laptop", "Demo Shop", `Your desktop, scan-free</td><td data-label="From" translate="no">laptop`} {
		if !strings.Contains(body, want) {
			t.Errorf("/account lacks %q", want)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("/account may be framed")
	}

	var me, bobMe struct {
		DeviceID string `json:"device_id"`
	}
	e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + cred}}, nil, &me)
	e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + bobCred}}, nil, &bobMe)
	if resp, _ := b.post("/account/devices/"+bobMe.DeviceID+"/revoke", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("revoking another user's device: %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.post("/account/devices/"+me.DeviceID+"/revoke", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	var ae apiErr
	if resp := e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + cred}}, nil, &ae); resp.StatusCode != 401 || ae.ErrCode != 10060 {
		t.Fatalf("revoked device still works: %d %+v", resp.StatusCode, ae)
	}
	if resp := e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + bobCred}}, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("bob's device affected: %d", resp.StatusCode)
	}
	// What the revoked device issued is taken back: its unredeemed code
	// does not redeem, and its tokens (access and refresh) stop working.
	if r := e.exchange(app, pending); r.ErrCode != 40029 {
		t.Fatalf("a code minted by the revoked device: %+v, want 40029", r)
	}
	userinfo := func(tr tokenResp) int {
		var ui apiErr
		e.getJSON("/sns/userinfo?"+url.Values{"access_token": {tr.AccessToken}, "openid": {tr.OpenID}}.Encode(), &ui)
		return ui.ErrCode
	}
	if code := userinfo(tok); code != 40014 {
		t.Fatalf("the revoked device's access token: errcode %d, want 40014", code)
	}
	var rr tokenResp
	e.getJSON("/sns/oauth2/refresh_token?"+url.Values{"appid": {app.AppID}, "grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode(), &rr)
	if rr.AccessToken != "" || rr.ErrCode == 0 {
		t.Fatalf("the revoked device's refresh token still refreshes: %+v", rr)
	}
	if code := userinfo(bobTok); code != 0 {
		t.Fatalf("bob's token affected: errcode %d", code)
	}

	// bob revokes the app on his account page: its token stops working
	// and it leaves his list.
	bb := e.browser()
	bb.login("bob")
	if _, body := bb.get("/account"); !strings.Contains(body, "Revoke Demo Shop") {
		t.Fatal("the account page offers no way to revoke an app")
	}
	if resp, _ := bb.post("/account/apps/"+app.AppID+"/revoke", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke app: %d", resp.StatusCode)
	}
	if code := userinfo(bobTok); code != 40014 {
		t.Fatalf("bob's token after he revoked the app: errcode %d, want 40014", code)
	}
	if _, body := bb.get("/account"); strings.Contains(body, "Revoke Demo Shop") || !strings.Contains(body, "None yet") {
		t.Fatal("the revoked app is still listed")
	}
	if resp, _ := b.post("/logout", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/account after logout: %d", resp.StatusCode)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	if resp := e.do("GET", "/healthz", nil, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

// TestGuessBursts: tries are reserved before the expensive check, so a
// burst of simultaneous wrong guesses has no more of them evaluated than
// the budget allows (it used to evaluate all 50 passwords, and 6 of 40
// user_codes slipped past a budget of 5).
func TestGuessBursts(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	burst := func(n int, send func() (int, error)) map[int]int {
		var mu sync.Mutex
		statuses := map[int]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				st, err := send()
				if err != nil {
					st = -1
				}
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return statuses
	}
	post := func(c *http.Client, path string, form url.Values) (int, error) {
		req, _ := http.NewRequest("POST", e.url+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	t.Run("passwords", func(t *testing.T) {
		got := burst(50, func() (int, error) {
			return post(http.DefaultClient, "/login", url.Values{"username": {"alice"}, "password": {"guess"}})
		})
		// The five let through are evaluated (401), or, on a machine so
		// loaded that one waits past its 2 s for a hashing slot, shed (503):
		// either way no more than five, and the other 45 refused at once.
		if got[http.StatusUnauthorized]+got[http.StatusServiceUnavailable] != 5 || got[http.StatusUnauthorized] == 0 ||
			got[http.StatusTooManyRequests] != 45 {
			t.Fatalf("50 simultaneous wrong passwords answered %v; want 5 × 401 (evaluated, or 503 when shed under load) and 45 × 429", got)
		}
	})
	t.Run("user codes", func(t *testing.T) {
		e.user("bob")
		b := e.browser()
		b.login("bob")
		got := burst(40, func() (int, error) {
			return post(b.c, "/device", url.Values{"user_code": {"BBBB-BBBB"}})
		})
		if got[http.StatusBadRequest] != 5 || got[http.StatusTooManyRequests] != 35 {
			t.Fatalf("40 simultaneous wrong user_codes answered %v; want 5 × 400 (looked up) and 35 × 429", got)
		}
	})
}

// TestHostileFormInput: a NUL byte or invalid UTF-8 in a form field is
// an ordinary wrong answer, not a database error (PostgreSQL refuses both
// in text).
func TestHostileFormInput(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	for _, name := range []string{"ali\x00ce", "alice\xff", "\x00"} {
		resp, _ := e.browser().post("/login", url.Values{"username": {name}, "password": {"guess"}}, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("username %q: %d, want 401", name, resp.StatusCode)
		}
	}
	if st := e.postForm("/oauth2/device_authorization", url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"lap\x00top\xff"}}, nil).StatusCode; st != 200 {
		t.Errorf("device name with NUL and invalid UTF-8: %d", st)
	}
}
