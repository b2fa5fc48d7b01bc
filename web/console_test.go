package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestConsoleInChromium: an operator (bob, an admin) drives the console in
// Debian's chromium against three scanfree-server replicas on one
// PostgreSQL database. The console is served by replica 0; alice's
// desktop talks to replica 1; token requests go to replica 2. He registers
// an app, edits its redirect URI, rotates its secret (the old one works
// for its grace period, then 40125 and invalid_client), finds alice by
// name and signs her out everywhere: within 2 s her desktop's check-login
// answers "signed out" and the daemon says who did it, and Demo Shop's
// check of her OpenID Connect sign-in (a refresh) fails and ends her shop
// session.
func TestConsoleInChromium(t *testing.T) {
	testutil.NeedTools(t, "chromium", "certutil")
	// Every replica the same data key: the OpenID Connect face is on.
	key := filepath.Join(t.TempDir(), "data.key")
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := e2e.StartReplicas(t, pgtest.DSN(t), 3, func(r *http.Request) int {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/api/v1/device/"):
			return 1
		case p == "/oauth2/token" || strings.HasPrefix(p, "/sns/"):
			return 2
		default: // the console, the sign-in page, the hosted pages
			return 0
		}
	}, "--data-key-file", key)
	w := newWorldOn(t, rs.Backend, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	rs.CLI("", "user", "role", "bob", "admin")
	br := e2e.NewBrowser(t, w.home)

	// Alice signs in to Demo Shop with OpenID Connect, scan-free.
	e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "click Sign in with OpenID Connect", chromedp.Click(chromedp.CSS("#signin-oidc")))
	continueAs(t, br, br.Ctx, nil)
	if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
		t.Fatal(err)
	}
	if nick := signedInAs(t, br, w.shop.URL); nick != "Alice" {
		t.Fatalf("signed in as %q", nick)
	}
	// The shop lays scanfree.js's session watermark over its signed-in page.
	openid := e2e.Run(br, br.Ctx, "her openid", chromedp.AttributeValue(chromedp.CSS("#watermark"), "data-text")).Value
	if p := watermarkProblems(br, ".scanfree-watermark", openid); len(p) > 0 || !strings.Contains(openid, "127.0.0.1") {
		t.Fatalf("the shop's watermark %q: %s (screenshot %s)", openid, strings.Join(p, "; "), br.Screenshot("shop-watermark"))
	}
	br.Screenshot("shop-watermark")
	e2e.Run(br, br.Ctx, "check her sign-in, through the watermark", chromedp.Click(chromedp.CSS("#check")))
	e2e.Run(br, br.Ctx, "it stands", chromedp.WaitVisible(chromedp.CSS("#checked")))

	// Bob opens the console: the sign-in page first.
	e2e.Run(br, br.Ctx, "open the console", chromedp.Navigate(rs.PublicURL+"/admin"))
	e2e.Run(br, br.Ctx, "the sign-in page", chromedp.WaitVisible(chromedp.CSS("#username")))
	e2e.Run(br, br.Ctx, "username", chromedp.SetValue(chromedp.CSS("#username"), "bob"))
	e2e.Run(br, br.Ctx, "password", chromedp.SendKeys(chromedp.CSS("#password"), "bob-password"))
	e2e.Run(br, br.Ctx, "sign in", chromedp.Click(chromedp.CSS("button[type=submit]")))
	e2e.Run(br, br.Ctx, "the people page", chromedp.WaitVisible(chromedp.CSS("#people")))
	br.Screenshot("console-people")

	// Register an app.
	e2e.Run(br, br.Ctx, "the apps tab", chromedp.Click(chromedp.CSS(`a[href="/admin/apps"]`)))
	e2e.Run(br, br.Ctx, "name", chromedp.SendKeys(chromedp.CSS("#new-name"), "Forum"))
	e2e.Run(br, br.Ctx, "redirect URI", chromedp.SendKeys(chromedp.CSS("#new-redirects"), "https://forum.example/cb"))
	e2e.Run(br, br.Ctx, "register", chromedp.Click(chromedp.CSS(`form[action="/admin/apps"] button`)))
	e2e.Run(br, br.Ctx, "the secret shown once", chromedp.WaitVisible(chromedp.CSS("#secret")))
	br.Screenshot("console-app-registered")
	oldSecret := e2e.Run(br, br.Ctx, "secret", chromedp.Text(chromedp.CSS("#secret")))
	appid := e2e.Run(br, br.Ctx, "appid", chromedp.Text(chromedp.CSS("#appid")))

	// Edit its redirect URI.
	e2e.Run(br, br.Ctx, "clear the redirect URIs", chromedp.Clear(chromedp.CSS("#redirects")))
	e2e.Run(br, br.Ctx, "a new redirect URI", chromedp.SendKeys(chromedp.CSS("#redirects"), "https://forum.example/callback"))
	e2e.Run(br, br.Ctx, "a required directory group", chromedp.SendKeys(chromedp.CSS("#groups"), "staff"))
	e2e.Run(br, br.Ctx, "desktops need a key in their TPM", chromedp.SetValue(chromedp.CSS("#require-key"), "tpm"))
	e2e.Run(br, br.Ctx, "the lowest OS versions", chromedp.SendKeys(chromedp.CSS("#min-os"), "linux:6.1"))
	e2e.Run(br, br.Ctx, "save", chromedp.Click(chromedp.CSS("#save")))
	// The page before showed a notice too ("Created."): wait for this one.
	testutil.Eventually(t, 10*time.Second, "the Saved notice", func() bool {
		txt, err := chromedp.Run(br.Ctx, chromedp.Evaluate[string](`document.querySelector("#notice")?.textContent ?? ""`))
		return err == nil && txt == "Saved." // an error: the page is still navigating
	})
	var apps []struct {
		AppID        string   `json:"appid"`
		RedirectURIs []string `json:"redirect_uris"`
	}
	if err := json.Unmarshal([]byte(rs.CLI("", "app", "list", "--json")), &apps); err != nil {
		t.Fatal(err)
	}
	edited := ""
	for _, a := range apps {
		if a.AppID == appid {
			edited = fmt.Sprint(a.RedirectURIs)
		}
	}
	if edited != "[https://forum.example/callback]" {
		t.Fatalf("redirect URIs of %s after the edit: %s (apps %+v)", appid, edited, apps)
	}
	if groups := e2e.Run(br, br.Ctx, "the saved groups", chromedp.Value(chromedp.CSS("#groups"))); groups != "staff" {
		t.Fatalf("the app's required groups after the save: %q", groups)
	}
	// The device policy set in the browser is the app's, shown again.
	if key := e2e.Run(br, br.Ctx, "the saved key level", chromedp.Value(chromedp.CSS("#require-key"))); key != "tpm" {
		t.Fatalf("the app's key level after the save: %q", key)
	}
	if minOS := e2e.Run(br, br.Ctx, "the saved OS versions", chromedp.Value(chromedp.CSS("#min-os"))); minOS != "linux:6.1" {
		t.Fatalf("the app's lowest OS versions after the save: %q", minOS)
	}

	// Rotate its secret with a short grace period.
	e2e.Run(br, br.Ctx, "grace", chromedp.SetValue(chromedp.CSS("#grace"), "3s"))
	clicked := time.Now() // the server rotates after this
	e2e.Run(br, br.Ctx, "rotate", chromedp.Click(chromedp.CSS("#rotate")))
	e2e.Run(br, br.Ctx, "the new secret", chromedp.WaitVisible(chromedp.CSS("#secret")))
	newSecret := e2e.Run(br, br.Ctx, "secret", chromedp.Text(chromedp.CSS("#secret")))
	if newSecret == oldSecret || newSecret == "" {
		t.Fatalf("rotation showed %q", newSecret)
	}
	// A code no one issued: the answer tells a known secret (a bad code)
	// from an unknown one (a bad client). Go's resolver does not know
	// idp.localhost: these go to the load balancer's address.
	api := rs.URL
	if got := wechatExchange(t, api, appid, oldSecret); got != 40029 {
		t.Fatalf("the old secret in its grace period: errcode %d, want 40029 (the secret accepted, the code not)", got)
	}
	testutil.Eventually(t, 10*time.Second, "the old secret refused after its grace period", func() bool {
		return wechatExchange(t, api, appid, oldSecret) == 40125
	})
	if time.Since(clicked) < 3*time.Second {
		t.Fatalf("the old secret stopped %v after the click, before its grace period of 3s", time.Since(clicked))
	}
	if got := oidcExchange(t, api, appid, oldSecret); got != "invalid_client" {
		t.Fatalf("the old secret at /oauth2/token after the grace period: %q", got)
	}
	if got := wechatExchange(t, api, appid, newSecret); got != 40029 {
		t.Fatalf("the new secret: errcode %d, want 40029", got)
	}

	// Find alice by name, sign her out everywhere.
	e2e.Run(br, br.Ctx, "the people tab", chromedp.Click(chromedp.CSS(`a[href="/admin/people"]`)))
	e2e.Run(br, br.Ctx, "search", chromedp.SendKeys(chromedp.CSS("#q"), "Ali"))
	e2e.Run(br, br.Ctx, "submit", chromedp.Click(chromedp.CSS(`form[role=search] button`)))
	// The unfiltered list has her row too: click it on the results page only.
	testutil.Eventually(t, 10*time.Second, "the search's results page", func() bool {
		loc, err := chromedp.Run(br.Ctx, chromedp.Location())
		return err == nil && strings.Contains(loc, "q=Ali")
	})
	e2e.Run(br, br.Ctx, "the results", chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/people/alice"]`)))
	if rows := e2e.Run(br, br.Ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("#people tbody tr").length`)); rows != 1 {
		t.Fatalf("searching Ali found %d people, want alice alone", rows)
	}
	e2e.Run(br, br.Ctx, "her row", chromedp.Click(chromedp.CSS(`a[href="/admin/people/alice"]`)))
	e2e.Run(br, br.Ctx, "her page", chromedp.WaitVisible(chromedp.CSS("#signout")))
	br.Screenshot("console-person")
	if r := w.d.CheckLogin(rs.Backend); r.ErrCode != 0 {
		t.Fatalf("her desktop before: %s", r.Body)
	}
	e2e.Run(br, br.Ctx, "sign her out everywhere", chromedp.Click(chromedp.CSS("#signout")))
	acted := time.Now()
	e2e.Run(br, br.Ctx, "done", chromedp.WaitVisible(chromedp.CSS("#notice")))
	testutil.Eventually(t, 2*time.Second, "her desktop's check-login answering signed out", func() bool {
		return w.d.CheckLogin(rs.Backend).ErrCode == 10060
	})
	t.Logf("her desktop was signed out %v after the click", time.Since(acted).Round(time.Millisecond))
	testutil.Eventually(t, 5*time.Second, "the daemon saying who signed it out", func() bool {
		return strings.Contains(w.d.Proc.Stderr.String(), "signed out everywhere by admin bob on the console")
	})

	// Demo Shop checks her sign-in: the refresh is refused, her shop session ends.
	e2e.Run(br, br.Ctx, "Demo Shop", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "check her sign-in", chromedp.Click(chromedp.CSS("#check")))
	msg := e2e.Run(br, br.Ctx, "the shop's answer", chromedp.Text(chromedp.CSS("[role=alert]")))
	if !strings.Contains(msg, "ended at the identity provider") {
		t.Fatalf("Demo Shop after she was signed out everywhere: %q (screenshot %s)", msg, br.Screenshot("shop-check"))
	}
	e2e.Run(br, br.Ctx, "Demo Shop again", chromedp.Navigate(w.shop.URL))
	e2e.Run(br, br.Ctx, "signed out", chromedp.WaitVisible(chromedp.CSS("#signin")))

	for prefix, want := range map[string]string{"/admin": "[0]", "/api/v1/device/": "[1]", "/oauth2/token": "[2]"} {
		if got := fmt.Sprint(rs.ServedBy(prefix)); got != want {
			t.Errorf("%s was served by replicas %s, want %s", prefix, got, want)
		}
	}
}

// wechatExchange redeems a code no one issued at /sns/oauth2/access_token
// and returns the errcode.
func wechatExchange(t *testing.T, base, appid, secret string) int {
	t.Helper()
	var out struct {
		ErrCode int `json:"errcode"`
	}
	q := url.Values{"appid": {appid}, "secret": {secret}, "code": {"no-such-code"}, "grant_type": {"authorization_code"}}
	if err := e2e.GetJSON(base+"/sns/oauth2/access_token?"+q.Encode(), &out); err != nil {
		t.Fatal(err)
	}
	return out.ErrCode
}

// oidcExchange redeems a code no one issued at /oauth2/token and returns
// the OAuth error.
func oidcExchange(t *testing.T, base, appid, secret string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {"no-such-code"}, "redirect_uri": {"https://forum.example/callback"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(appid), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return out.Error
}

// TestConsoleFormsInChromium drives the console's other forms in
// chromium, the page's CSP and cross-site check in play: revoking bob's
// desktop (a real scanfreed, which then answers signed out); a one-time
// reset link made on bob's page and used on its own page; the log's
// filter form; and deleting bob, which the browser refuses until the box is
// ticked.
func TestConsoleFormsInChromium(t *testing.T) {
	testutil.NeedTools(t, "chromium")
	b := e2e.StartBackend(t)
	b.CLI("", "user", "role", "alice", "admin")
	d := e2e.StartDaemon(t, b, e2e.DaemonOptions{Args: []string{"--no-dialog"}})
	d.SignIn(b, "bob")
	br := e2e.NewBrowser(t, t.TempDir())
	at := func(what, part string) {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, what, func() bool {
			loc, err := chromedp.Run(br.Ctx, chromedp.Location())
			return err == nil && strings.Contains(loc, part)
		})
	}
	consoleSignIn(br, b.PublicURL+"/admin/people/bob", "alice")

	// Revoke his desktop (before the reset link, which signs him out everywhere).
	e2e.Run(br, br.Ctx, "desktops", chromedp.Navigate(b.PublicURL+"/admin/desktops"))
	shows(t, br, "his desktop and where it signed in from", "#desktops tbody", "127.0.0.1")
	e2e.Run(br, br.Ctx, "revoke", chromedp.Click(chromedp.CSS(`#desktops form[action$="/revoke"] button`)))
	at("revoked", "done=revoked")
	testutil.Eventually(t, 5*time.Second, "his desktop answering signed out", func() bool { return d.CheckLogin(b).ErrCode == 10060 })

	e2e.Run(br, br.Ctx, "his page", chromedp.Navigate(b.PublicURL+"/admin/people/bob"))
	// A one-time reset link, used in the browser.
	e2e.Run(br, br.Ctx, "make a reset link", chromedp.Click(chromedp.CSS("#reset-link")))
	e2e.Run(br, br.Ctx, "the link", chromedp.WaitVisible(chromedp.CSS("#notice")))
	link := regexp.MustCompile(`http\S+/reset/[A-Za-z0-9_-]+`).FindString(e2e.Run(br, br.Ctx, "notice", chromedp.Text(chromedp.CSS("#notice"))))
	if link == "" {
		t.Fatalf("no reset link shown (screenshot %s)", br.Screenshot("reset-link"))
	}
	e2e.Run(br, br.Ctx, "open the link", chromedp.Navigate(link))
	e2e.Run(br, br.Ctx, "new password", chromedp.SendKeys(chromedp.CSS("#password"), "bobs-new-password"))
	e2e.Run(br, br.Ctx, "again", chromedp.SendKeys(chromedp.CSS("#again"), "bobs-new-password"))
	e2e.Run(br, br.Ctx, "set it", chromedp.Click(chromedp.CSS("button[type=submit]")))
	shows(t, br, "the reset form's answer", "main", "Password set")

	// The log's filter form finds it.
	e2e.Run(br, br.Ctx, "the log", chromedp.Navigate(b.PublicURL+"/admin/log"))
	e2e.Run(br, br.Ctx, "person", chromedp.SendKeys(chromedp.CSS("#user"), "bob"))
	e2e.Run(br, br.Ctx, "kind", chromedp.SendKeys(chromedp.CSS("#kind"), "password_reset"))
	e2e.Run(br, br.Ctx, "show", chromedp.Click(chromedp.CSS(`form[role=search] button:not([name])`)))
	at("the filtered log", "kind=password_reset")
	shows(t, br, "the filtered rows", "#log tbody", "one-time reset link")
	if rows := e2e.Run(br, br.Ctx, "rows", chromedp.Text(chromedp.CSS("#log tbody"))); !strings.Contains(rows, "one-time reset link") || strings.Count(rows, "password_reset") != 1 {
		t.Fatalf("the filtered log: %q", rows)
	}

	// Delete him: not until the box is ticked.
	e2e.Run(br, br.Ctx, "his page", chromedp.Navigate(b.PublicURL+"/admin/people/bob"))
	e2e.Run(br, br.Ctx, "delete without the box", chromedp.Click(chromedp.CSS("#delete")))
	if loc := e2e.Run(br, br.Ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/admin/people/bob") ||
		!strings.Contains(b.CLI("", "user", "list"), "bob") {
		t.Fatalf("deleted without the box ticked: %s", loc)
	}
	e2e.Run(br, br.Ctx, "tick the box", chromedp.Click(chromedp.CSS(`form[action$="/delete"] input[name=confirm]`)))
	e2e.Run(br, br.Ctx, "delete", chromedp.Click(chromedp.CSS("#delete")))
	at("deleted", "done=deleted")
	if strings.Contains(b.CLI("", "user", "list"), "bob") {
		t.Fatal("bob is still listed")
	}
	br.Screenshot("deleted")
}
