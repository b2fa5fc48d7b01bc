package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
)

// TestTOTPInChromium: alice sets up an authenticator app from her
// account page's link in chromium (the QR code loads under the page's CSP),
// keeps a recovery code, signs out, and signs in to Demo Shop on the
// OIDC face with her password and then the recovery code on the code
// form (whose CSP must let it go on to the shop).
func TestTOTPInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	br := e2e.NewBrowser(t, w.home)
	password := func() {
		e2e.Run(br, br.Ctx, "the password form", chromedp.WaitVisible(chromedp.CSS("#password")))
		e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "alice"))
		e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), "alice-password"))
		e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))
	}
	e2e.Run(br, br.Ctx, "open her account", chromedp.Navigate(w.b.PublicURL+"/account"))
	password()
	e2e.Run(br, br.Ctx, "click Set up an authenticator app", chromedp.Click(chromedp.CSS("#totp-setup")))
	e2e.Run(br, br.Ctx, "the QR code", chromedp.WaitVisible(chromedp.CSS("#totp-qr")))
	if width := e2e.Run(br, br.Ctx, "the QR code loaded", chromedp.Evaluate[float64](`document.getElementById("totp-qr").naturalWidth`)); width == 0 {
		t.Fatalf("the QR code did not load (screenshot %s)", br.Screenshot("totp-setup"))
	}
	br.Screenshot("totp-setup")
	key := e2e.Run(br, br.Ctx, "the key", chromedp.Text(chromedp.CSS("#totp-secret")))
	code, err := totp.GenerateCode(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e2e.Run(br, br.Ctx, "the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	e2e.Run(br, br.Ctx, "turn it on", chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button`)))
	codes := e2e.Run(br, br.Ctx, "the recovery codes", chromedp.Text(chromedp.CSS("#recovery-codes")))
	first := strings.Fields(codes)
	if len(first) != 10 {
		t.Fatalf("recovery codes: %q", codes)
	}
	br.Screenshot("totp-recovery-codes")

	e2e.Run(br, br.Ctx, "back to the account", chromedp.Navigate(w.b.PublicURL+"/account"))
	e2e.Run(br, br.Ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	e2e.Run(br, br.Ctx, "signed out", chromedp.WaitVisible(chromedp.CSS("#password")))
	w.d.Scanfreed("pause") // the hosted page shows the QR code and the password link
	openPasswordForm(br, w)
	password()
	e2e.Run(br, br.Ctx, "the code form", chromedp.WaitVisible(chromedp.CSS("#code")))
	br.Screenshot("totp-code-form")
	e2e.Run(br, br.Ctx, "a recovery code", chromedp.SendKeys(chromedp.CSS("#code"), first[0]))
	e2e.Run(br, br.Ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/login/code"] button`)))
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in to Demo Shop as %q", nick)
	}
	e2e.Run(br, br.Ctx, "her account", chromedp.Navigate(w.b.PublicURL+"/account"))
	status := e2e.Run(br, br.Ctx, "the account page", chromedp.Text(chromedp.CSS("#totp-status")))
	if !strings.Contains(status, "9 recovery codes left") {
		t.Fatalf("after signing in with a recovery code: %q", status)
	}
	// She removes it: the account page says so, and it is gone.
	e2e.Run(br, br.Ctx, "click Remove it", chromedp.Click(chromedp.CSS(`form[action="/account/totp/remove"] button`)))
	e2e.Run(br, br.Ctx, "the setup link again", chromedp.WaitVisible(chromedp.CSS("#totp-setup")))
	if out := w.b.CLI("", "events", "--user", "alice", "--csv"); !strings.Contains(out, "totp_removed") {
		t.Fatalf("the removal is not in her audit log:\n%s", out)
	}
}
