package server_test

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	ctx := context.Background()

	t.Run("authorization response", func(t *testing.T) {
		da := e.startDeviceFlow()
		if len(da.DeviceCode) < 22 { // ≥ 128 bits in base64url
			t.Fatalf("device_code %q too short", da.DeviceCode)
		}
		if len(da.UserCode) != 9 || da.UserCode[4] != '-' || strings.Trim(strings.Replace(da.UserCode, "-", "", 1), "BCDFGHJKLMNPQRSTVWXZ") != "" {
			t.Fatalf("user_code %q is not XXXX-XXXX from the unambiguous alphabet", da.UserCode)
		}
		if da.VerificationURI != e.url+"/device" || da.VerificationURIComplete != e.url+"/device?user_code="+da.UserCode ||
			da.ExpiresIn != 600 || da.Interval != 5 {
			t.Fatalf("device authorization = %+v", da)
		}
	})

	t.Run("pending, slow_down, approve, single use", func(t *testing.T) {
		da := e.startDeviceFlow()
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "authorization_pending" {
			t.Fatalf("first poll: %+v", oe)
		}
		e.advance(time.Second)
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "slow_down" || oe.Interval != 10 {
			t.Fatalf("poll after 1 s: %+v, want slow_down with interval 10", oe)
		}
		e.advance(6 * time.Second) // under the raised 10 s interval
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "slow_down" || oe.Interval != 15 {
			t.Fatalf("poll after 6 s: %+v, want slow_down with interval 15", oe)
		}
		e.advance(16 * time.Second)
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "authorization_pending" {
			t.Fatalf("poll after the interval: %+v", oe)
		}
		if _, err := admin.ApproveDevice(ctx, e.store, "alice", da.UserCode, e.clock()); err != nil {
			t.Fatal(err)
		}
		tok, oe := e.pollToken(da.DeviceCode)
		if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.DeviceID == "" {
			t.Fatalf("after approval: %+v %+v", tok, oe)
		}
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "invalid_grant" {
			t.Fatalf("second redemption: %+v, want invalid_grant", oe)
		}
		var me deviceapi.Me
		e.do("GET", "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil, &me)
		if me.Nickname != "Alice" || me.DeviceName != "laptop" || me.OS != "linux" || me.DeviceID != tok.DeviceID {
			t.Fatalf("device/me = %+v", me)
		}
		if _, err := admin.ApproveDevice(ctx, e.store, "alice", da.UserCode, e.clock()); err == nil {
			t.Fatal("approving a consumed code succeeded")
		}
	})

	t.Run("denied", func(t *testing.T) {
		da := e.startDeviceFlow()
		b := e.browser()
		b.login("alice")
		resp, body := b.post("/device/decide", url.Values{"user_code": {da.UserCode}, "decision": {"deny"}}, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "denied") {
			t.Fatalf("deny: %d %s", resp.StatusCode, body)
		}
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "access_denied" {
			t.Fatalf("after deny: %+v", oe)
		}
	})

	t.Run("expired", func(t *testing.T) {
		da := e.startDeviceFlow()
		e.advance(10*time.Minute + time.Second)
		if _, oe := e.pollToken(da.DeviceCode); oe.Error != "expired_token" {
			t.Fatalf("after 10 min: %+v", oe)
		}
		if _, err := admin.ApproveDevice(ctx, e.store, "alice", da.UserCode, e.clock()); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("approving an expired code: %v", err)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		cases := []struct {
			path   string
			form   url.Values
			status int
			want   string
		}{
			{"/oauth2/device_authorization", url.Values{"client_id": {"evil"}}, 401, "invalid_client"},
			{"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {deviceapi.ClientID}}, 400, "unsupported_grant_type"},
			{"/oauth2/token", url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {"evil"}, "device_code": {"x"}}, 401, "invalid_client"},
			{"/oauth2/token", url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}}, 400, "invalid_request"},
			{"/oauth2/token", url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}, "device_code": {"unknown"}}, 400, "invalid_grant"},
		}
		for _, c := range cases {
			var oe oauthErr
			resp := e.postForm(c.path, c.form, &oe)
			if resp.StatusCode != c.status || oe.Error != c.want {
				t.Errorf("%s %v: %d %+v, want %d %s", c.path, c.form, resp.StatusCode, oe, c.status, c.want)
			}
		}
	})
}

// TestUserCodeBruteForce: five wrong codes lock the account and the client
// address out of /device, even for the right code, until the window ends.
func TestUserCodeBruteForce(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("bob")
	da := e.startDeviceFlow()
	b := e.browser()
	b.login("alice")
	for i, guess := range []string{"BBBB-BBBB", "CCCC-CCCC", "not-a-code", "DDDDDDDD", "FFFF-FFFF"} {
		resp, body := b.post("/device", url.Values{"user_code": {guess}}, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not valid") {
			t.Fatalf("wrong guess %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := b.post("/device", url.Values{"user_code": {da.UserCode}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong codes") {
		t.Fatalf("sixth try: %d, want 429", resp.StatusCode)
	}
	resp, _ = b.post("/device/decide", url.Values{"user_code": {da.UserCode}, "decision": {"approve"}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("decide while locked: %d, want 429", resp.StatusCode)
	}
	// Another account from the same address is locked too.
	b2 := e.browser()
	b2.login("bob")
	if resp, _ := b2.post("/device", url.Values{"user_code": {da.UserCode}}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("other account, same address: %d, want 429", resp.StatusCode)
	}
	if _, oe := e.pollToken(da.DeviceCode); oe.Error != "authorization_pending" {
		t.Fatalf("device after lockout: %+v", oe)
	}
	e.advance(10 * time.Minute)
	da2 := e.startDeviceFlow()
	resp, body = b.post("/device", url.Values{"user_code": {strings.ToLower(da2.UserCode)}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "laptop") || !strings.Contains(body, "linux") {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

// TestDeviceAuthorizationLimit: starting enrolments needs no credential,
// so each client address may start 10 a minute; the 11th is refused
// before anything is stored, and the window refills.
func TestDeviceAuthorizationLimit(t *testing.T) {
	e := newEnv(t)
	start := func() int {
		return e.postForm("/oauth2/device_authorization", url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"x"}}, nil).StatusCode
	}
	for i := range 10 {
		if st := start(); st != 200 {
			t.Fatalf("enrolment %d: %d", i+1, st)
		}
	}
	if st := start(); st != http.StatusTooManyRequests {
		t.Fatalf("the 11th within a minute: %d, want 429", st)
	}
	e.advance(time.Minute)
	if st := start(); st != 200 {
		t.Fatalf("after the window: %d", st)
	}
}

// TestDevicePhishingWarnings: the approval page says where and when the
// enrolment started and warns when the code came in a link; the approval
// is recorded on the account page with both addresses.
func TestDevicePhishingWarnings(t *testing.T) {
	e := newEnvWith(t, func(c *server.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	e.user("alice")
	// The attacker starts the enrolment from their own network.
	var da deviceapi.DeviceAuthorization
	e.do("POST", "/oauth2/device_authorization", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Forwarded-For": {"203.0.113.66"}},
		strings.NewReader(url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"Your computer (security check)"}, "os": {"linux"}}.Encode()), &da)
	b := e.browser()
	b.login("alice")
	e.advance(3 * time.Minute)
	_, body := b.get("/device?user_code=" + url.QueryEscape(da.UserCode))
	if !strings.Contains(body, "This link came with a code in it") || !strings.Contains(body, "Nobody") {
		t.Fatal("a prefilled code from a link carries no warning")
	}
	if _, plain := b.get("/device"); strings.Contains(plain, "This link came with a code in it") {
		t.Fatal("the plain page warns about a link")
	}
	resp, body := b.post("/device", url.Values{"user_code": {da.UserCode}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "203.0.113.66") || !strings.Contains(body, "another network") || !strings.Contains(body, "3m0s ago") {
		t.Fatalf("the approval page does not show where and when it started: %d\n%s", resp.StatusCode, body)
	}
	b.post("/device/decide", url.Values{"user_code": {da.UserCode}, "decision": {"approve"}}, nil)
	if _, acct := b.get("/account"); !strings.Contains(acct, "Desktops you approved") || !strings.Contains(acct, "started from 203.0.113.66") {
		t.Fatal("the account page does not list the approval with its address")
	}

	// Her own `scanfreed login`, from her network, opened at once: its
	// link is not warned about; a minute later, or a code it never made, is.
	var own deviceapi.DeviceAuthorization
	e.do("POST", "/oauth2/device_authorization", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		strings.NewReader(url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"her laptop"}, "os": {"linux"}}.Encode()), &own)
	for _, c := range []struct {
		name    string
		code    string
		after   time.Duration
		warning bool
	}{
		{"her own, just now", own.UserCode, 0, false},
		{"a code nobody made", "BCDF-GHJK", 0, true},
		{"her own, a minute on", own.UserCode, time.Minute, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.advance(c.after)
			_, body := b.get("/device?user_code=" + url.QueryEscape(c.code))
			if got := strings.Contains(body, "This link came with a code in it"); got != c.warning || !strings.Contains(body, c.code) {
				t.Fatalf("warning %v, want %v; the code prefilled: %v", got, c.warning, strings.Contains(body, c.code))
			}
		})
	}
	// The links' look-ups count as guesses: five wrong ones lock typing out.
	for range 5 {
		b.get("/device?user_code=BCDF-GHJ" + "K")
	}
	if resp, _ := b.post("/device", url.Values{"user_code": {own.UserCode}}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after five wrong codes in links a typed code got %d, want 429", resp.StatusCode)
	}
}
