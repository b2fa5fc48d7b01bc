package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/ldaptest"
	"github.com/scanfree/scanfree/internal/harness/oidctest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestDirectoryInChromium: with a real slapd named in the server's
// config file, a person the backend has never seen picks the OIDC face's
// password form in chromium, keeps "Corp directory" chosen, signs in with
// her directory password, and lands at Demo Shop under her directory
// name: made at that first sign-in.
func TestDirectoryInChromium(t *testing.T) {
	dir := ldaptest.Start(t)
	dir.AddPerson("erin", "Erin Directory", "erin-dir-pw")
	cfg := dir.WriteConfig(t.TempDir())

	w := newWorld(t, e2e.BackendOptions{Args: []string{"--config", cfg}}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.d.Scanfreed("pause")
	br := e2e.NewBrowser(t, w.home)
	openPasswordForm(br, w)
	e2e.Run(br, br.Ctx, "password form", chromedp.WaitVisible(chromedp.CSS("#connector")))
	if chosen := e2e.Run(br, br.Ctx, "the chosen directory", chromedp.Value(chromedp.CSS("#connector"))); chosen != "corp" {
		t.Fatalf("the form chose %q, want corp", chosen)
	}
	br.Screenshot("directory-form")
	e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "erin"))
	e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("input[name=password]"), "erin-dir-pw"))
	e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
	if nick := signedInAs(t, br, w.shop.URL); nick != "Erin Directory" {
		t.Fatalf("signed in as %q (screenshot %s)", nick, br.Screenshot("directory-signed-in"))
	}
	if out := w.b.CLI("", "user", "list"); !strings.Contains(out, "erin") {
		t.Fatalf("erin was not made at her first sign-in:\n%s", out)
	}
}

// TestUpstreamInChromium: with mockoidc (an OpenID Connect provider that
// is not scanfree) named in the server's config file, a person picks the
// OIDC face's password form, clicks "Sign in with Company SSO", and is
// back at Demo Shop signed in, made at that first sign-in.
func TestUpstreamInChromium(t *testing.T) {
	m := oidctest.Start(t)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-kim", PreferredUsername: "kim", Email: "kim@corp.example"})
	tmp := t.TempDir()
	sec, cfg := m.SecretFile(t, tmp), filepath.Join(tmp, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`connectors:
  - id: sso
    type: oidc
    name: Company SSO
    config:
      issuer: %s
      client_id: %s
      client_secret_file: %s
      client_auth: post
`, m.Issuer(), m.ClientID, sec)), 0o600)

	w := newWorld(t, e2e.BackendOptions{Args: []string{"--config", cfg}}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.d.Scanfreed("pause")
	br := e2e.NewBrowser(t, w.home)
	openPasswordForm(br, w)
	e2e.Run(br, br.Ctx, "the SSO button", chromedp.WaitVisible(chromedp.CSS("#sso-sso")))
	br.Screenshot("upstream-form")
	e2e.Run(br, br.Ctx, "click Sign in with Company SSO", chromedp.Click(chromedp.CSS("#sso-sso")))
	if nick := signedInAs(t, br, w.shop.URL); nick != "kim" {
		t.Fatalf("signed in as %q (screenshot %s)", nick, br.Screenshot("upstream-signed-in"))
	}
	if out := w.b.CLI("", "events", "--method", "upstream"); !strings.Contains(out, "Company SSO") {
		t.Fatalf("the sign-in log has no sign-in through Company SSO:\n%s", out)
	}
}

// TestWeChatUpstreamInChromium: the world's backend plays WeChat; a
// second backend (corp.localhost) offers "Sign in with WeChat". In
// chromium, a person picks it on the second's login form, lands on the
// first's real qrconnect page, clicks "Continue as Alice", confirms on
// her desktop, and is back on the second's account page as Alice, made
// there at that first sign-in.
func TestWeChatUpstreamInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	port := testutil.FreePort(t)
	corp := fmt.Sprintf("http://corp.localhost:%d", port)
	portal, err := w.b.Backend.CreateApp(t.Context(), "Corp portal", "--redirect-uri", corp+"/login/connector/wx/callback")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	sec, cfg := filepath.Join(tmp, "wx-secret"), filepath.Join(tmp, "config.yaml")
	os.WriteFile(sec, []byte(portal.Secret), 0o600)
	os.WriteFile(cfg, []byte(fmt.Sprintf(`connectors:
  - id: wx
    type: wechat
    name: WeChat
    config:
      app_id: %s
      app_secret_file: %s
      connect_url: %s
      api_url: %s
      lang: en
`, portal.AppID, sec, w.b.PublicURL, w.b.URL)), 0o600)
	second := e2e.StartBackendWith(t, e2e.BackendOptions{Args: []string{"--config", cfg}, Addr: fmt.Sprintf("127.0.0.1:%d", port), PublicHost: "corp.localhost"})

	br := e2e.NewBrowser(t, w.home)
	e2e.Run(br, br.Ctx, "the second backend's login form", chromedp.Navigate(second.PublicURL+"/login?next=/account"))
	e2e.Run(br, br.Ctx, "click Sign in with WeChat", chromedp.Click(chromedp.CSS("#sso-wx")))
	continueAs(t, br, br.Ctx, nil)
	p := w.d.AwaitPending()
	if p.AppName != "Corp portal" || p.RedirectHost != fmt.Sprintf("corp.localhost:%d", port) {
		t.Fatalf("the dialog would show %q going to %q", p.AppName, p.RedirectHost)
	}
	if err := w.d.Control.Approve(t.Context(), p.ID); err != nil {
		t.Fatal(err)
	}
	e2e.Run(br, br.Ctx, "the account page", chromedp.WaitVisible(chromedp.CSS("section[aria-labelledby=recent]")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, second.PublicURL+"/account") {
		t.Fatalf("landed on %s", loc)
	}
	br.Screenshot("wechat-upstream-signed-in")
	if out := second.CLI("", "user", "list"); !strings.Contains(out, "wx-") || !strings.Contains(out, "Alice") {
		t.Fatalf("the second backend did not make her:\n%s", out)
	}
}
