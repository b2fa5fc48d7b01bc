package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/scanfree/scanfree/internal/harness/e2e"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// look is how a page is shown: a viewport and a colour scheme.
type look struct {
	name          string
	width, height int64
	dark          bool
	lang          string // the page's lang parameter
	waiting       string // its waiting message
}

var looks = []look{
	{"desktop", 1100, 800, false, "en", "Confirm the sign-in in the window on your desktop"},
	{"phone", 390, 844, false, "en", "Confirm the sign-in in the window on your desktop"},
	{"phone-dark", 390, 844, true, "en", "Confirm the sign-in in the window on your desktop"},
	{"phone-chinese", 390, 844, false, "cn", "请在电脑上弹出的窗口中确认登录"},
	{"desktop-dark-chinese", 1100, 800, true, "cn", "请在电脑上弹出的窗口中确认登录"},
}

// apply sets br's viewport and colour scheme.
func (l look) apply(br *e2e.Browser) {
	scheme := "light"
	if l.dark {
		scheme = "dark"
	}
	e2e.Run(br, br.Ctx, "viewport "+l.name, chromedp.EmulateViewport(l.width, l.height))
	e2e.Run(br, br.Ctx, "colour scheme "+scheme, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// layoutProblems lists what makes the open page look unfinished: an
// image shown broken, content wider than the viewport, and (in dark mode)
// a light background.
func layoutProblems(br *e2e.Browser, dark bool) []string {
	js := `(() => {
		const out = [];
		for (const img of document.images) {
			const r = img.getBoundingClientRect(), shown = r.width > 0 && r.height > 0 && getComputedStyle(img).visibility !== "hidden";
			if (shown && img.complete && img.naturalWidth === 0) out.push("broken image " + (img.id || img.src));
		}
		if (document.documentElement.scrollWidth > window.innerWidth + 1)
			out.push("content " + document.documentElement.scrollWidth + "px wide in a " + window.innerWidth + "px viewport");
		const bg = getComputedStyle(document.body).backgroundColor.match(/\d+/g).slice(0, 3).map(Number);
		const light = bg[0] + bg[1] + bg[2] > 382;
		if (` + map[bool]string{true: "true", false: "false"}[dark] + ` === light) out.push("background " + bg.join(",") + " in the wrong colour scheme");
		return out;
	})()`
	return e2e.Run(br, br.Ctx, "check the layout", chromedp.Evaluate[[]string](js))
}

// TestHostedPageLooks opens the hosted login page as its own page at
// desktop and phone widths and in dark mode: "Continue as Alice" with her
// initial where her picture cannot load, no stray separator, one waiting
// message with a spinner, a QR code that still decodes in dark mode, and
// the phone's page; in English and Chinese. A screenshot of each step is
// kept.
func TestHostedPageLooks(t *testing.T) {
	// Each look denies once: no cooldown between them.
	w := newWorld(t, e2e.BackendOptions{}, e2e.DaemonOptions{Args: []string{"--no-dialog", "--cooldown", "1ms"}})
	for _, l := range looks {
		t.Run(l.name, func(t *testing.T) {
			page := w.b.PublicURL + "/connect/qrconnect?" + url.Values{"appid": {w.b.App.AppID}, "redirect_uri": {e2e.RedirectURI},
				"response_type": {"code"}, "scope": {"snsapi_login"}, "state": {"look"}, "self_redirect": {"true"}, "lang": {l.lang}}.Encode()
			br := e2e.NewBrowser(t, w.home)
			l.apply(br)
			e2e.Run(br, br.Ctx, "open the hosted page", chromedp.Navigate(page))
			e2e.Run(br, br.Ctx, "Continue as Alice", chromedp.WaitVisible(chromedp.CSS("#continue")))
			// alice's picture is on a host this machine cannot reach.
			e2e.Run(br, br.Ctx, "her initial instead of a broken picture", chromedp.WaitVisible(chromedp.CSS("#initials")))
			if ini := e2e.Run(br, br.Ctx, "initial", chromedp.Text(chromedp.CSS("#initials"))); ini != "A" {
				t.Fatalf("initials %q, want A", ini)
			}
			if links := e2e.Run(br, br.Ctx, "links", chromedp.Text(chromedp.CSS(".links"))); strings.Contains(links, "·") {
				t.Fatalf("a stray separator among the links: %q", links)
			}
			if p := layoutProblems(br, l.dark); len(p) > 0 {
				t.Fatalf("%s (screenshot %s)", strings.Join(p, "; "), br.Screenshot("problem"))
			}
			br.Screenshot("continue-as-alice")

			e2e.Run(br, br.Ctx, "click Continue", chromedp.Click(chromedp.CSS("#continue")))
			e2e.Run(br, br.Ctx, "spinner", chromedp.WaitVisible(chromedp.CSS("#waiting .spinner")))
			body := e2e.Run(br, br.Ctx, "page text", chromedp.Text(chromedp.CSS("main")))
			if n := strings.Count(body, l.waiting); n != 1 {
				t.Fatalf("the waiting message is shown %d times: %q", n, body)
			}
			br.Screenshot("waiting")
			p := w.d.AwaitPending()
			w.d.Control.Deny(t.Context(), p.ID) // back to the QR code

			e2e.Run(br, br.Ctx, "QR code", chromedp.WaitVisible(chromedp.CSS("#qrimg")))
			if p := layoutProblems(br, l.dark); len(p) > 0 {
				t.Fatalf("%s (screenshot %s)", strings.Join(p, "; "), br.Screenshot("problem"))
			}
			qrURL := decodeQRWhere(t, br, br.Ctx, nil, func(s string) bool { return strings.Contains(s, "/x/") })
			br.Screenshot("qr-code")
			// For a phone that cannot scan, or `scanfreed approve URL`: the same address as text.
			e2e.Run(br, br.Ctx, "open the QR code's address", chromedp.Click(chromedp.CSS("#qrlink summary")))
			if txt := e2e.Run(br, br.Ctx, "the address", chromedp.Text(chromedp.CSS("#qrurl"))); txt != qrURL {
				t.Fatalf("the page shows the address %q, the QR code holds %q", txt, qrURL)
			}
			if p := layoutProblems(br, l.dark); len(p) > 0 {
				t.Fatalf("with the address open: %s (screenshot %s)", strings.Join(p, "; "), br.Screenshot("problem"))
			}
			br.Screenshot("qr-address")

			// The phone's page, as the phone shows it.
			ph := phone(t, w, qrURL)
			l.apply(ph)
			if p := layoutProblems(ph, l.dark); len(p) > 0 {
				t.Fatalf("phone page: %s (screenshot %s)", strings.Join(p, "; "), ph.Screenshot("problem"))
			}
			ph.Screenshot("phone-" + l.name)
		})
	}
}

// TestConsoleLooks opens every page of the operator console as an admin at
// desktop and phone widths, in dark mode and in Chinese, with a theme:
// what TestEveryPageLooks checks of every page, and the watermark. A
// screenshot of each is kept.
func TestConsoleLooks(t *testing.T) {
	testutil.NeedTools(t, "chromium")
	b := e2e.StartBackendWith(t, e2e.BackendOptions{Args: themeArgs(t)})
	b.CLI("", "user", "role", "alice", "admin")
	pages := []string{"/admin/people", "/admin/people/alice", "/admin/apps", "/admin/apps/" + b.App.AppID, "/admin/desktops", "/admin/log"}
	for _, l := range looks {
		t.Run(l.name, func(t *testing.T) {
			br := e2e.NewBrowser(t, t.TempDir())
			l.apply(br)
			// The console's languages are en and zh; ?lang= on the first
			// page is remembered for the rest (the sign-in page too).
			lang, tabs := "en", "People"
			if l.lang == "cn" {
				lang, tabs = "zh-CN", "人员"
			}
			consoleSignIn(br, b.PublicURL+"/admin?lang="+lang, "alice")
			for _, p := range pages {
				e2e.Run(br, br.Ctx, "open "+p, chromedp.Navigate(b.PublicURL+p))
				e2e.Run(br, br.Ctx, "the console's tabs", chromedp.WaitVisible(chromedp.CSS("nav.console")))
				name := strings.ReplaceAll(strings.TrimPrefix(p, "/admin/"), "/", "-")
				problems := append(pageProblems(br, l), watermarkProblems(br, "#watermark", "alice · 127.0.0.1")...)
				if got := e2e.Run(br, br.Ctx, "the page's language", chromedp.Evaluate[string](`document.documentElement.lang + " " + document.querySelector("nav.console").textContent`)); !strings.HasPrefix(got, lang+" ") || !strings.Contains(got, tabs) {
					problems = append(problems, fmt.Sprintf("language and tabs %q, want %s and %q", got, lang, tabs))
				}
				if len(problems) > 0 {
					t.Errorf("%s: %s (screenshot %s)", p, strings.Join(problems, "; "), br.Screenshot(name+"-problem"))
				}
				br.Screenshot(name)
			}
		})
	}
}

// watermarkProblems lists what is wrong with the open page's watermark
// (the element sel): it must hold text, cover the viewport, be faint, let
// clicks through and not be selectable.
func watermarkProblems(br *e2e.Browser, sel, text string) []string {
	js := `((sel, text) => {
		const el = document.querySelector(sel);
		if (!el) return ["no watermark " + sel];
		const out = [], st = getComputedStyle(el), r = el.getBoundingClientRect();
		if (!el.textContent.includes(text)) out.push("watermark without " + text);
		if (st.pointerEvents !== "none") out.push("watermark takes clicks: pointer-events " + st.pointerEvents);
		if (st.userSelect !== "none" && st.webkitUserSelect !== "none") out.push("watermark selectable");
		if (!(Number(st.opacity) > 0 && Number(st.opacity) <= 0.2)) out.push("watermark opacity " + st.opacity);
		if (r.left > 0 || r.top > 0 || r.right < innerWidth || r.bottom < innerHeight) out.push("watermark does not cover the viewport");
		if (document.documentElement.scrollWidth > innerWidth + 1) out.push("watermark widens the page");
		return out;
	})(` + strconv.Quote(sel) + `, ` + strconv.Quote(text) + `)`
	return e2e.Run(br, br.Ctx, "check the watermark", chromedp.Evaluate[[]string](js))
}
