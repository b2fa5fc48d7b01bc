package server_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
)

// TestLoadTheme: each part of a theme is checked at start, and a bad one
// is refused naming the flag and what it wants.
func TestLoadTheme(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.css", "header{border-bottom:3px solid #c8102e}")
	for _, c := range []struct {
		name                     string
		brand, logo, accent, css string
		wantErr                  string
	}{
		{"all of it", "Example Corp", "https://example.com/logo.png", "#c8102e", good, ""},
		{"nothing", "", "", "", "", ""},
		{"a data logo", "", "data:image/svg+xml,%3Csvg%3E%3C/svg%3E", "#abc", "", ""},
		{"a long name", strings.Repeat("x", 61), "", "", "", "--brand-name"},
		{"a name of two lines", "a\nb", "", "", "", "--brand-name"},
		{"a script logo", "", "javascript:alert(1)", "", "", "--brand-logo"},
		{"a data logo that is no image", "", "data:text/html,hi", "", "", "--brand-logo"},
		{"a relative logo", "", "logo.png", "", "", "--brand-logo"},
		{"a colour name", "", "", "red", "", "--brand-accent"},
		{"a colour that breaks out", "", "", "#fff}body{display:none", "", "--brand-accent"},
		{"a stylesheet ending the style", "", "", "", file("evil.css", "a{}</style><script>alert(1)</script>"), `holds "<"`},
		{"a stylesheet too big", "", "", "", file("big.css", strings.Repeat("a{}", 30000)), "at most 65536"},
		{"a stylesheet not there", "", "", "", filepath.Join(dir, "missing.css"), "--brand-css"},
		{"a stylesheet not text", "", "", "", file("bin.css", "\xff\xfe"), "not UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			th, err := server.LoadTheme(c.brand, c.logo, c.accent, c.css)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.css != "" && !strings.Contains(string(th.Style("link", "button")), "#c8102e") {
					t.Fatalf("style %q", th.Style("link", "button"))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v, want one saying %q", err, c.wantErr)
			}
		})
	}
}

// TestThemeOnEveryPage: the theme's name, logo, accent and stylesheet are
// on the account page, the error page, the page that is not there and the
// hosted sign-in, and the pages' CSP still allows no script but their own.
func TestThemeOnEveryPage(t *testing.T) {
	css := filepath.Join(t.TempDir(), "theme.css")
	os.WriteFile(css, []byte("h1{letter-spacing:.02em}"), 0o600)
	th, err := server.LoadTheme("Example Corp", "https://example.com/logo.png", "#c8102e", css)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *server.Config) { c.Theme = th })
	e.user("alice")
	app := e.app(admin.AppSpec{Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"}})
	b := e.browser()
	b.login("alice")
	for _, p := range []string{
		"/account",
		"/no-such-page",
		"/connect/qrconnect?" + url.Values{"appid": {app.AppID}, "redirect_uri": {"https://evil.example/cb"}, "response_type": {"code"}, "scope": {"snsapi_login"}}.Encode(),
		"/connect/qrconnect?" + url.Values{"appid": {app.AppID}, "redirect_uri": {"https://shop.example/cb"}, "response_type": {"code"}, "scope": {"snsapi_login"}}.Encode(),
	} {
		t.Run(p, func(t *testing.T) {
			resp, body := b.get(p)
			for _, want := range []string{"Example Corp", `src="https://example.com/logo.png"`, "#c8102e", "letter-spacing:.02em"} {
				if !strings.Contains(body, want) {
					t.Errorf("%d: no %q on the page", resp.StatusCode, want)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline'; script") || strings.Contains(csp, "script-src 'unsafe") {
				t.Errorf("the theme loosened the CSP: %s", csp)
			}
			if resp.StatusCode == http.StatusOK && strings.Contains(body, "· scanfree</title>") {
				t.Error("the title still names scanfree")
			}
		})
	}
}
