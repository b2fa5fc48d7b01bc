package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/e2e"
)

// The theme the look tests apply: a name, a logo (a data URL: no network),
// an accent and a stylesheet that marks the pages it reached.
const (
	themeName   = "Example Corp"
	themeAccent = "#c8102e"
)

// themeArgs are scanfree-server's flags for the look tests' theme.
func themeArgs(t *testing.T) []string {
	t.Helper()
	css := filepath.Join(t.TempDir(), "theme.css")
	if err := os.WriteFile(css, []byte("body{--themed:yes}header{border-bottom-width:2px}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logo := "data:image/svg+xml," + url.PathEscape(`<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32"><rect width="96" height="32" rx="6" fill="#c8102e"/></svg>`)
	return []string{"--brand-name", themeName, "--brand-logo", logo, "--brand-accent", themeAccent, "--brand-css", css}
}

// pageProblems lists what is wrong with the open page beyond its layout:
// no viewport for phones, a word broken across two lines, the theme not
// applied, and (in Chinese) English text left untranslated. Text people
// or operators wrote (names, event details) is marked translate="no".
func pageProblems(br *e2e.Browser, l look) []string {
	js := `((zh, brand, accent) => {
		const out = [];
		if (!document.querySelector('meta[name=viewport]')) out.push("no viewport meta");
		const shown = el => el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
		const skipped = el => el.closest('script,style,code,kbd,.watermark,.visually-hidden,[translate=no],option');
		const english = /[A-Za-z]{2,}(?:[\s,.'’:;()-]+[A-Za-z]{2,}){2,}/;
		const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n; (n = walker.nextNode());) {
			const el = n.parentElement;
			if (!shown(el) || el.closest('script,style,.watermark')) continue;
			// Words, not identifiers: codes, keys and addresses may break anywhere.
			for (const m of el.closest('code') ? [] : n.data.matchAll(/[A-Za-z]{2,20}/g)) {
				const r = document.createRange();
				r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
				const lines = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
				if (lines.size > 1) out.push("the word " + JSON.stringify(m[0]) + " is broken across lines");
			}
			if (zh && !skipped(el) && english.test(n.data.replaceAll(brand, ""))) out.push("untranslated: " + JSON.stringify(n.data.trim()));
		}
		if (zh) {
			for (const el of document.querySelectorAll('[alt],[aria-label],[title],[placeholder]')) {
				for (const a of ['alt', 'aria-label', 'title', 'placeholder']) {
					const v = el.getAttribute(a);
					if (v && !skipped(el) && english.test(v)) out.push("untranslated " + a + ": " + JSON.stringify(v));
				}
			}
			if (english.test(document.title.replaceAll(brand, ""))) out.push("untranslated title: " + JSON.stringify(document.title));
		}
		if (!document.querySelector('link[rel=icon]')) out.push("no icon: the browser asks for /favicon.ico and logs its 404");
		const mark = document.getElementById('brand');
		if (!mark || !mark.textContent.includes(brand)) out.push("no " + brand + " on the page");
		else if (!mark.querySelector('img') || mark.querySelector('img').naturalWidth === 0) out.push("no logo beside the name");
		if (getComputedStyle(document.body).getPropertyValue('--themed').trim() !== 'yes') out.push("the theme's stylesheet did not apply");
		if (getComputedStyle(document.documentElement).getPropertyValue('--link').trim() !== accent) out.push("links are not in the accent colour");
		return out;
	})(` + map[bool]string{true: "true", false: "false"}[l.lang == "cn"] + `, "` + themeName + `", "` + themeAccent + `")`
	return append(layoutProblems(br, l.dark), e2e.Run(br, br.Ctx, "check the page", chromedp.Evaluate[[]string](js))...)
}

// startDesktopSignIn starts a desktop's sign-in at the backend as
// `scanfreed login` does, from the network from (through the backend's
// trusted proxy, this machine), and returns the code it would show.
func startDesktopSignIn(t *testing.T, b *e2e.Backend, from string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", b.URL+"/oauth2/device_authorization",
		strings.NewReader(url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"Work PC"}, "os": {"linux"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", from)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var da deviceapi.DeviceAuthorization
	if err := json.NewDecoder(resp.Body).Decode(&da); err != nil || da.UserCode == "" {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, err)
	}
	return da.UserCode
}

// TestEveryPageLooks opens every page a person meets, with an operator's
// theme applied, at desktop and phone widths, light and dark, in English
// and Chinese (chosen by ?lang= and by the browser's language): the
// sign-in page, the reset link's form, the password change, the refusal and the page that is
// not there, the hosted sign-in, the account page, the authenticator
// setup, /device with a code in its link and the approval behind it, the
// message after a choice, the phone's page behind a QR code, and adding a
// passkey. Each must fit the screen with no word broken, have a viewport,
// show the organisation's name, logo, accent and stylesheet, load every
// image, and in Chinese leave nothing in English but names. A screenshot
// of each is kept.
func TestEveryPageLooks(t *testing.T) {
	// This machine is a trusted proxy: a desktop sign-in can be started
	// from "another network" (a link someone sent), which /device warns of.
	w := newWorld(t, e2e.BackendOptions{Args: append(themeArgs(t), "--trusted-proxies", "127.0.0.1")},
		e2e.DaemonOptions{Args: []string{"--no-dialog", "--cooldown", "1ms"}})
	// The CLI names the server by its default public URL: the path is what counts.
	reset := regexp.MustCompile(`/reset/\S+`).FindString(w.b.CLI("", "user", "reset-password", "bob", "--link"))
	if reset == "" {
		t.Fatal("no reset link")
	}
	reset = w.b.PublicURL + reset
	for _, l := range looks {
		t.Run(l.name, func(t *testing.T) {
			lang, acceptLang := "en", "en"
			if l.lang == "cn" {
				lang, acceptLang = "zh-CN", "zh-CN"
			}
			br := e2e.NewBrowser(t, w.home, chromedp.Flag("accept-lang", acceptLang)) // w.home: it trusts the desktop app
			l.apply(br)
			check := func(name string) {
				t.Helper()
				if p := pageProblems(br, l); len(p) > 0 {
					t.Errorf("%s: %s (screenshot %s)", name, strings.Join(p, "; "), br.Screenshot(name+"-problem"))
					return
				}
				br.Screenshot(name)
			}
			open := func(name, page, ready string) {
				t.Helper()
				e2e.Run(br, br.Ctx, "open "+name, chromedp.Navigate(page))
				e2e.Run(br, br.Ctx, name+" ready", chromedp.WaitVisible(chromedp.CSS(ready)))
				check(name)
			}
			connect := func(redirect string) string {
				return w.b.PublicURL + "/connect/qrconnect?" + url.Values{"appid": {w.b.App.AppID}, "redirect_uri": {redirect},
					"response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"look"}, "lang": {l.lang}}.Encode()
			}
			w.d.Scanfreed("pause") // the hosted page shows its QR code

			// Demo Shop: a button to sign in, and its own icon.
			e2e.Run(br, br.Ctx, "open Demo Shop", chromedp.Navigate(w.shop.URL))
			shop := e2e.Run(br, br.Ctx, "Demo Shop's look", chromedp.Evaluate[[]string](`(() => {
				const out = [], b = getComputedStyle(document.getElementById("signin"));
				if (!document.querySelector("link[rel=icon]")) out.push("no icon");
				if (b.backgroundColor === "rgba(0, 0, 0, 0)" || b.textDecorationLine !== "none") out.push("Sign in looks like a link");
				return out;
			})()`))
			if p := append(layoutProblems(br, l.dark), shop...); len(p) > 0 {
				t.Errorf("Demo Shop: %s (screenshot %s)", strings.Join(p, "; "), br.Screenshot("shop-problem"))
			} else {
				br.Screenshot("shop")
			}

			// Signed out.
			open("login", w.b.PublicURL+"/login?lang="+lang, "#username")
			open("reset", reset, "#again")
			open("not-found", w.b.PublicURL+"/no/such/page", "h1")
			open("refusal", connect("https://evil.example/cb"), "h1")
			open("hosted", connect(e2e.RedirectURI), "#qrimg")
			qrURL := decodeQRWhere(t, br, br.Ctx, nil, func(s string) bool { return strings.Contains(s, "/x/") })

			// Adding a passkey asks for more than a password: she signs in
			// with her desktop, and that session shows the rest.
			w.d.Scanfreed("resume")
			e2e.Run(br, br.Ctx, "open Add a passkey", chromedp.Navigate(w.b.PublicURL+"/account/passkeys/new"))
			e2e.Run(br, br.Ctx, "the sign-in page", chromedp.WaitVisible(chromedp.CSS("#self-signin")))
			check("login-confirm")
			e2e.Run(br, br.Ctx, "sign in with the desktop", chromedp.Click(chromedp.CSS("#self-signin")))
			e2e.Run(br, br.Ctx, "Continue as Alice", chromedp.WaitVisible(chromedp.CSS("#continue")))
			check("hosted-continue")
			e2e.Run(br, br.Ctx, "click Continue", chromedp.Click(chromedp.CSS("#continue")))
			if err := w.d.Control.Approve(t.Context(), w.d.AwaitPending().ID); err != nil {
				t.Fatal(err)
			}
			e2e.Run(br, br.Ctx, "the passkey form", chromedp.WaitVisible(chromedp.CSS("#passkey-create")))
			check("passkey-new")
			e2e.Run(br, br.Ctx, "her account", chromedp.Navigate(w.b.PublicURL+"/account"))
			e2e.Run(br, br.Ctx, "her account ready", chromedp.WaitVisible(chromedp.CSS("#passkey-add")))
			if ini := e2e.Run(br, br.Ctx, "her initial", chromedp.Text(chromedp.CSS(".avatar-box .initial"))); ini != "A" {
				t.Errorf("the account page shows %q where her picture cannot load", ini)
			}
			check("account")
			open("totp-setup", w.b.PublicURL+"/account/totp", "#totp-qr")
			open("password", w.b.PublicURL+"/account/password", "#current")
			// A link with a code from elsewhere: the warning, then the approval.
			open("device-link", w.b.PublicURL+"/device?user_code="+url.QueryEscape(startDesktopSignIn(t, w.b, "203.0.113.7")), "[role=alert]")
			e2e.Run(br, br.Ctx, "continue", chromedp.Click(chromedp.CSS("#user_code ~ button")))
			e2e.Run(br, br.Ctx, "the approval", chromedp.WaitVisible(chromedp.CSS("button[value=deny]")))
			check("device-confirm")
			e2e.Run(br, br.Ctx, "deny", chromedp.Click(chromedp.CSS("button[value=deny]")))
			e2e.Run(br, br.Ctx, "the answer", chromedp.WaitVisible(chromedp.CSS("p[role=status]")))
			check("message")
			open("phone", qrURL, "button[value=scan]")

		})
	}
}
