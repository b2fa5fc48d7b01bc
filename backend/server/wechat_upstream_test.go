package server_test

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/wechat"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestWeChatUpstream: a second scanfree-server plays open.weixin.qq.com.
// "Sign in with WeChat" on the first sends the browser to the second's
// qrconnect page; alice confirms there on her desktop (the device API, as
// her daemon does after the dialog); the first exchanges the code at the
// second's /sns/oauth2/access_token, reads /sns/userinfo, and makes her
// here, linked by the unionid the second gives her. The first's local
// alice is not taken over; a second sign-in is the same person.
func TestWeChatUpstream(t *testing.T) {
	upstream := newEnv(t)
	upstream.user("alice")
	cred := upstream.enrol("alice")
	var wxApp admin.NewApp
	e := newEnvWith(t, func(cfg *server.Config) {
		wxApp = upstream.app(admin.AppSpec{Name: "Corp portal", FastLogin: true, RedirectURIs: []string{cfg.PublicURL + "/login/connector/wx/callback"}})
		sec := filepath.Join(t.TempDir(), "wx-secret")
		os.WriteFile(sec, []byte(wxApp.Secret), 0o600)
		c, err := wechat.New("wx", "WeChat", wechat.Config{AppID: wxApp.AppID, AppSecretFile: sec, ConnectURL: upstream.url, APIURL: upstream.url},
			slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Connectors = []connector.Connector{c}
	})
	e.user("alice") // a local alice, another person
	ctx := context.Background()

	signIn := func() string {
		t.Helper()
		b := e.browser()
		resp, _ := b.get("/login/connector/wx?next=/account")
		to, _ := url.Parse(resp.Header.Get("Location"))
		q := to.Query()
		if !strings.HasPrefix(to.String(), upstream.url+"/connect/qrconnect?") || q.Get("appid") != wxApp.AppID || q.Get("scope") != "snsapi_login" {
			t.Fatalf("sent to %s, want the upstream's qrconnect page", to)
		}
		redirect, ae, _ := upstream.authorize(cred, deviceapi.SignInRequest{AppID: q.Get("appid"), Scope: q.Get("scope"),
			RedirectURI: q.Get("redirect_uri"), State: q.Get("state")})
		if redirect == "" {
			t.Fatalf("alice's desktop at the upstream: %+v", ae)
		}
		back, _ := url.Parse(redirect)
		resp, body := b.follow(back.RequestURI())
		if resp.StatusCode != 200 || !strings.Contains(body, "Alice") {
			t.Fatalf("back from WeChat: %d %.300s", resp.StatusCode, body)
		}
		return body
	}
	signIn()
	links, _ := e.store.ListIdentities(ctx, "wx", "")
	if len(links) != 1 {
		t.Fatalf("links after the sign-in: %+v", links)
	}
	// The unionid the upstream gives alice for this owner's apps.
	redirect, ae, _ := upstream.authorize(cred, deviceapi.SignInRequest{AppID: wxApp.AppID, Scope: "snsapi_login",
		RedirectURI: e.url + "/login/connector/wx/callback", State: "probe"})
	if redirect == "" {
		t.Fatalf("a code for the test: %+v", ae)
	}
	probe, _ := url.Parse(redirect)
	tok := upstream.exchange(wxApp, probe.Query().Get("code")) // redeemed by the test, not the first server
	if tok.UnionID == "" || links[0].Subject != tok.UnionID {
		t.Fatalf("linked by %q, the upstream's unionid is %q", links[0].Subject, tok.UnionID)
	}
	local, _ := e.store.GetUserByUsername(ctx, "alice")
	if links[0].UserID == local.ID {
		t.Fatal("the local alice was taken over")
	}
	signIn()
	if again, _ := e.store.ListIdentities(ctx, "wx", ""); len(again) != 1 || again[0].UserID != links[0].UserID {
		t.Fatalf("a second sign-in made another person: %+v", again)
	}
}
