package web_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// consoleSignIn signs user (whose password is "<user>-password") in to
// the operator console at page in br, and waits for its tabs.
func consoleSignIn(br *e2e.Browser, page, user string) {
	e2e.Run(br, br.Ctx, "open the console", chromedp.Navigate(page))
	e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), user))
	e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), user+"-password"))
	e2e.Run(br, br.Ctx, "sign in", chromedp.Click(chromedp.CSS("button[type=submit]")))
	e2e.Run(br, br.Ctx, "the console", chromedp.WaitVisible(chromedp.CSS("nav.console")))
}

// shows waits until the element sel of the page br shows holds want,
// polling from outside: the page may navigate under the poll.
func shows(t *testing.T, br *e2e.Browser, what, sel, want string) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, what, func() bool {
		txt, err := chromedp.Run(br.Ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`)?.textContent ?? ""`))
		return err == nil && strings.Contains(txt, want)
	})
}

// TestPasskeyPolicyInChromium walks the forms that tie passwords to
// passkeys, in Debian's chromium: bob, an operator, sets Demo Shop to
// "second-factor" with the app page's select; alice's right password to
// Demo Shop then asks for a passkey, and the code form's passkey button
// (the second step, no username asked again) signs her in; bob removes
// her passkey with its Remove button on her console page; and her
// password alone is then refused with what to do instead.
func TestPasskeyPolicyInChromium(t *testing.T) {
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	w.b.CLI("", "user", "role", "bob", "admin")
	br := e2e.NewBrowser(t, w.home)
	addAuthenticator(t, br)
	registerPasskey(t, w, br, "Work laptop")
	noAutofill(t, br)

	// Bob sets the app's policy on its console page.
	ad := e2e.NewBrowser(t, t.TempDir())
	consoleSignIn(ad, w.b.PublicURL+"/admin/apps/"+w.b.App.AppID, "bob")
	e2e.Run(ad, ad.Ctx, "choose second-factor", chromedp.SetValue(chromedp.CSS("#password-signin"), "second-factor"))
	e2e.Run(ad, ad.Ctx, "save", chromedp.Click(chromedp.CSS("#save")))
	shows(t, ad, "saved", "main", "Saved")
	if sel := e2e.Run(ad, ad.Ctx, "the select", chromedp.Evaluate[string](`document.querySelector("#password-signin").value`)); sel != "second-factor" {
		t.Fatalf("after saving the select shows %q (screenshot %s)", sel, ad.Screenshot("policy"))
	}
	if out := w.b.CLI("", "app", "list"); !strings.Contains(out, "second-factor") {
		t.Fatalf("app list does not have the policy bob chose:\n%s", out)
	}
	ad.Screenshot("app-policy")

	// Her right password to Demo Shop now asks for a passkey: the second step.
	signOut := func() { // of the backend: its session would sign her in to the shop at once
		e2e.Run(br, br.Ctx, "her account page", chromedp.Navigate(w.b.PublicURL+"/account"))
		e2e.Run(br, br.Ctx, "click Sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
		e2e.Run(br, br.Ctx, "signed out", chromedp.WaitVisible(chromedp.CSS("#password")))
	}
	signOut()
	w.d.Scanfreed("pause") // the hosted page shows the QR code and the password link
	passwordToShop := func() {
		openPasswordForm(br, w)
		e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "alice"))
		e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("input[name=password]"), "alice-password"))
		e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS("button[type=submit]")))
	}
	passwordToShop()
	shows(t, br, "the passkey step", "main", "Now confirm with one of your passkeys")
	if n := e2e.Run(br, br.Ctx, "no username field", chromedp.Evaluate[int](`document.querySelectorAll("#username, #code").length`)); n != 0 {
		t.Fatalf("the passkey step asks for a username or code again (screenshot %s)", br.Screenshot("second-step"))
	}
	br.Screenshot("second-step")
	passkeySignIn(br)
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in after the passkey step as %q", nick)
	}
	if out := w.b.CLI("", "events", "--user", "alice", "--app", w.b.App.AppID, "--csv"); !strings.Contains(out, "Work laptop") {
		t.Fatalf("the log does not show her passkey step:\n%s", out)
	}

	// Bob removes her passkey from her console page.
	e2e.Run(ad, ad.Ctx, "her page", chromedp.Navigate(w.b.PublicURL+"/admin/people/alice"))
	e2e.Run(ad, ad.Ctx, "her passkey", chromedp.WaitVisible(chromedp.CSS(`#passkey-list button[aria-label="Remove passkey Work laptop"]`)))
	e2e.Run(ad, ad.Ctx, "click Remove", chromedp.Click(chromedp.CSS(`#passkey-list button[aria-label="Remove passkey Work laptop"]`)))
	shows(t, ad, "removed", "main", "Removed")
	if rows := e2e.Run(ad, ad.Ctx, "her passkeys", chromedp.Text(chromedp.CSS("#passkey-list tbody"))); strings.Contains(rows, "Work laptop") {
		t.Fatalf("her console page still lists the passkey: %q (screenshot %s)", rows, ad.Screenshot("removed"))
	}
	if out := w.b.CLI("", "user", "passkeys", "alice"); strings.Contains(out, "Work laptop") {
		t.Fatalf("user passkeys still lists it:\n%s", out)
	}
	ad.Screenshot("passkey-removed")

	// With no second factor left, her password alone is refused, saying why.
	e2e.Run(br, br.Ctx, "sign out of Demo Shop", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	e2e.Run(br, br.Ctx, "signed out of Demo Shop", chromedp.WaitVisible(chromedp.CSS("#signin")))
	signOut()
	passwordToShop()
	shows(t, br, "the refusal", "[role=alert]", "also needs a passkey or an authenticator code")
	br.Screenshot("no-second-factor")
}
