package web_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/ldaptest"
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
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	e2e.Run(br, br.Ctx, "the QR code (the page has its answer)", chromedp.WaitVisible(chromedp.CSS("#qrimg")))
	e2e.Run(br, br.Ctx, "click the password link", chromedp.Click(chromedp.CSS("#password")))
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
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-kim", PreferredUsername: "kim", Email: "kim@corp.example"})
	tmp := t.TempDir()
	sec, cfg := filepath.Join(tmp, "secret"), filepath.Join(tmp, "config.yaml")
	os.WriteFile(sec, []byte(m.ClientSecret), 0o600)
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
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	e2e.Run(br, br.Ctx, "the QR code (the page has its answer)", chromedp.WaitVisible(chromedp.CSS("#qrimg")))
	e2e.Run(br, br.Ctx, "click the password link", chromedp.Click(chromedp.CSS("#password")))
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
