package server_test

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
)

// TestSNSErrcodes provokes every errcode of the /sns/* API over HTTP.
func TestSNSErrcodes(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	other := e.app(admin.AppSpec{Name: "Other", FastLogin: true})
	cred := e.enrol("alice")

	good := e.exchange(app, e.code(cred, app))
	if good.ErrCode != 0 || good.AccessToken == "" || good.ExpiresIn != 7200 || good.Scope != "snsapi_login" || good.OpenID == "" || good.UnionID == "" {
		t.Fatalf("exchange = %+v", good)
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	at := func(appid, sec, code, grant string) string {
		return "/sns/oauth2/access_token?" + q("appid", appid, "secret", sec, "code", code, "grant_type", grant)
	}
	codeOfOther := e.code(cred, other)
	tests := []struct {
		name string
		path func() string
		want int
	}{
		{"access_token ok", func() string { return at(app.AppID, app.Secret, e.code(cred, app), "authorization_code") }, 0},
		{"missing appid", func() string {
			return "/sns/oauth2/access_token?" + q("secret", "s", "code", "c", "grant_type", "authorization_code")
		}, 41002},
		{"missing secret", func() string {
			return "/sns/oauth2/access_token?" + q("appid", "a", "code", "c", "grant_type", "authorization_code")
		}, 41004},
		{"missing code", func() string {
			return "/sns/oauth2/access_token?" + q("appid", "a", "secret", "s", "grant_type", "authorization_code")
		}, 41008},
		{"appid twice", func() string {
			return "/sns/oauth2/access_token?appid=a&appid=b&" + q("secret", "s", "code", "c", "grant_type", "authorization_code")
		}, 41002},
		{"bad grant_type", func() string { return at(app.AppID, app.Secret, "c", "password") }, 40002},
		{"invalid appid", func() string { return at("wxnope", app.Secret, "c", "authorization_code") }, 40013},
		{"invalid secret", func() string { return at(app.AppID, other.Secret, "c", "authorization_code") }, 40125},
		{"invalid code", func() string { return at(app.AppID, app.Secret, "nonsense", "authorization_code") }, 40029},
		{"code of another app", func() string { return at(app.AppID, app.Secret, codeOfOther, "authorization_code") }, 40029},
		{"refresh missing appid", func() string {
			return "/sns/oauth2/refresh_token?" + q("refresh_token", "r", "grant_type", "refresh_token")
		}, 41002},
		{"refresh missing token", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", app.AppID, "grant_type", "refresh_token")
		}, 41003},
		{"refresh bad grant", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", app.AppID, "refresh_token", good.RefreshToken, "grant_type", "x")
		}, 40002},
		{"refresh invalid appid", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", "wxnope", "refresh_token", good.RefreshToken, "grant_type", "refresh_token")
		}, 40013},
		{"refresh invalid token", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", app.AppID, "refresh_token", "nope", "grant_type", "refresh_token")
		}, 40030},
		{"access token as refresh", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", app.AppID, "refresh_token", good.AccessToken, "grant_type", "refresh_token")
		}, 40030},
		{"refresh of another app", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", other.AppID, "refresh_token", good.RefreshToken, "grant_type", "refresh_token")
		}, 40030},
		{"refresh ok", func() string {
			return "/sns/oauth2/refresh_token?" + q("appid", app.AppID, "refresh_token", good.RefreshToken, "grant_type", "refresh_token")
		}, 0},
		{"auth missing token", func() string { return "/sns/auth?" + q("openid", good.OpenID) }, 41001},
		{"auth missing openid", func() string { return "/sns/auth?" + q("access_token", good.AccessToken) }, 41009},
		{"auth invalid token", func() string { return "/sns/auth?" + q("access_token", "nope", "openid", good.OpenID) }, 40014},
		{"auth refresh as access", func() string { return "/sns/auth?" + q("access_token", good.RefreshToken, "openid", good.OpenID) }, 40014},
		{"auth wrong openid", func() string { return "/sns/auth?" + q("access_token", good.AccessToken, "openid", "o-someone-else") }, 40003},
		{"auth ok", func() string { return "/sns/auth?" + q("access_token", good.AccessToken, "openid", good.OpenID) }, 0},
		{"userinfo missing token", func() string { return "/sns/userinfo?" + q("openid", good.OpenID) }, 41001},
		{"userinfo missing openid", func() string { return "/sns/userinfo?" + q("access_token", good.AccessToken) }, 41009},
		{"userinfo invalid token", func() string { return "/sns/userinfo?" + q("access_token", "nope", "openid", good.OpenID) }, 40014},
		{"userinfo wrong openid", func() string { return "/sns/userinfo?" + q("access_token", good.AccessToken, "openid", "ox") }, 40003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r tokenResp
			e.getJSON(tt.path(), &r)
			if r.ErrCode != tt.want {
				t.Fatalf("errcode = %d (%s), want %d", r.ErrCode, r.ErrMsg, tt.want)
			}
			if tt.want != 0 && r.ErrMsg == "" {
				t.Fatal("errmsg empty")
			}
		})
	}

	t.Run("userinfo ok", func(t *testing.T) {
		var ui struct {
			apiErr
			OpenID, Nickname, HeadImgURL, UnionID string
			Privilege                             []string
		}
		e.getJSON("/sns/userinfo?"+q("access_token", good.AccessToken, "openid", good.OpenID), &ui)
		if ui.ErrCode != 0 || ui.Nickname != "Alice" || ui.OpenID != good.OpenID || ui.UnionID != good.UnionID ||
			ui.HeadImgURL != "https://avatar.example/alice" || ui.Privilege == nil {
			t.Fatalf("userinfo = %+v", ui)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		code := e.code(cred, app)
		fresh := e.exchange(app, e.code(cred, app))
		e.advance(5*time.Minute + time.Second)
		if r := e.exchange(app, code); r.ErrCode != 42003 {
			t.Fatalf("expired code: %+v, want 42003", r)
		}
		e.advance(2 * time.Hour)
		var r tokenResp
		e.getJSON("/sns/auth?"+q("access_token", fresh.AccessToken, "openid", fresh.OpenID), &r)
		if r.ErrCode != 42001 {
			t.Fatalf("expired access token: %+v, want 42001", r)
		}
		e.getJSON("/sns/userinfo?"+q("access_token", fresh.AccessToken, "openid", fresh.OpenID), &r)
		if r.ErrCode != 42001 {
			t.Fatalf("userinfo with expired access token: %+v, want 42001", r)
		}
		r = tokenResp{}
		e.getJSON("/sns/oauth2/refresh_token?"+q("appid", app.AppID, "refresh_token", fresh.RefreshToken, "grant_type", "refresh_token"), &r)
		if r.ErrCode != 0 || r.RefreshToken != fresh.RefreshToken || r.AccessToken == fresh.AccessToken || r.OpenID != fresh.OpenID {
			t.Fatalf("refresh after access expiry: %+v", r)
		}
		e.advance(30 * 24 * time.Hour)
		r = tokenResp{}
		e.getJSON("/sns/oauth2/refresh_token?"+q("appid", app.AppID, "refresh_token", fresh.RefreshToken, "grant_type", "refresh_token"), &r)
		if r.ErrCode != 42002 {
			t.Fatalf("expired refresh token: %+v, want 42002", r)
		}
	})
}

// TestCodeReuseRevokes shows that a replayed code answers 40163 and kills
// the access and refresh tokens, and those refreshed from them, that the
// first exchange issued, recorded as every face records a replay.
func TestCodeReuseRevokes(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	code := e.code(cred, app)
	first := e.exchange(app, code)
	var refreshed tokenResp
	e.getJSON("/sns/oauth2/refresh_token?"+url.Values{"appid": {app.AppID}, "refresh_token": {first.RefreshToken}, "grant_type": {"refresh_token"}}.Encode(), &refreshed)
	if refreshed.ErrCode != 0 {
		t.Fatalf("refresh: %+v", refreshed)
	}
	if r := e.exchange(app, code); r.ErrCode != 40163 {
		t.Fatalf("reuse: %+v, want 40163", r)
	}
	for _, tok := range []string{first.AccessToken, refreshed.AccessToken} {
		var r tokenResp
		e.getJSON("/sns/auth?"+url.Values{"access_token": {tok}, "openid": {first.OpenID}}.Encode(), &r)
		if r.ErrCode != 40014 {
			t.Fatalf("token from a reused code still valid: %+v", r)
		}
	}
	var r tokenResp
	e.getJSON("/sns/oauth2/refresh_token?"+url.Values{"appid": {app.AppID}, "refresh_token": {first.RefreshToken}, "grant_type": {"refresh_token"}}.Encode(), &r)
	if r.ErrCode != 40030 {
		t.Fatalf("refresh token from a reused code still valid: %+v", r)
	}
	sameReplayEvent(t, e, app.AppID)
}

// TestCodeDoubleSpendRace exchanges one code 100 times at once: exactly one
// exchange gets a token.
func TestCodeDoubleSpendRace(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	code := e.code(e.enrol("alice"), app)
	results := make([]tokenResp, 100)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = e.exchange(app, code)
		}()
	}
	close(start)
	wg.Wait()
	var wins, reused int
	for _, r := range results {
		switch {
		case r.ErrCode == 0 && r.AccessToken != "":
			wins++
		case r.ErrCode == 40163:
			reused++
		default:
			t.Errorf("unexpected answer %+v", r)
		}
	}
	if wins != 1 || reused != 99 {
		t.Fatalf("%d tokens and %d reuse answers; want exactly 1 and 99", wins, reused)
	}
}

// TestOpenIDUnionID: openid is per (user, app), unionid per (user, owner).
func TestOpenIDUnionID(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.user("bob")
	a1 := e.app(admin.AppSpec{Name: "A1", Owner: "acme", FastLogin: true})
	a2 := e.app(admin.AppSpec{Name: "A2", Owner: "acme", FastLogin: true})
	b1 := e.app(admin.AppSpec{Name: "B1", Owner: "globex", FastLogin: true})
	alice, bob := e.enrol("alice"), e.enrol("bob")
	x1, x1again := e.exchange(a1, e.code(alice, a1)), e.exchange(a1, e.code(alice, a1))
	x2, x3 := e.exchange(a2, e.code(alice, a2)), e.exchange(b1, e.code(alice, b1))
	y1 := e.exchange(a1, e.code(bob, a1))
	switch {
	case x1.OpenID != x1again.OpenID || x1.UnionID != x1again.UnionID:
		t.Fatal("openid/unionid not stable for one user and app")
	case x1.OpenID == x2.OpenID || x1.OpenID == x3.OpenID:
		t.Fatal("openid shared across apps")
	case x1.UnionID != x2.UnionID:
		t.Fatal("unionid differs between apps of one owner")
	case x1.UnionID == x3.UnionID:
		t.Fatal("unionid shared across owners")
	case x1.OpenID == y1.OpenID || x1.UnionID == y1.UnionID:
		t.Fatal("two users share an id")
	}
	// Apps created without an owner are their own: unrelated relying
	// parties never receive one unionid for the same person.
	n1 := e.app(admin.AppSpec{Name: "N1", FastLogin: true})
	n2 := e.app(admin.AppSpec{Name: "N2", FastLogin: true})
	z1, z2 := e.exchange(n1, e.code(alice, n1)), e.exchange(n2, e.code(alice, n2))
	if z1.UnionID == "" || z1.UnionID == z2.UnionID || z1.UnionID == x1.UnionID {
		t.Fatalf("apps without an owner: unionids %q %q (acme's %q), want each its own", z1.UnionID, z2.UnionID, x1.UnionID)
	}
}
