package server

import (
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Theme is how every page looks for the organisation running the server:
// the name people see vouching for them (in each page's header and
// title, and under the hosted sign-in), a logo beside it, an accent
// colour for links and the main button, and a stylesheet of its own laid
// over the pages' own. It is read once at start (serve --brand-*).
type Theme struct {
	// Name is the identity service's name; "scanfree" when empty.
	Name string
	// LogoURL is an https (or, for a server on this machine, http) URL or
	// a data:image URL of the logo; none when empty.
	LogoURL string
	// Accent is a colour as #rgb or #rrggbb; the pages' own when empty.
	Accent string
	// CSS is the text of the operator's stylesheet.
	CSS string
}

// Limits of a theme: a name fits a page's header; a stylesheet is a theme,
// not a site.
const (
	maxThemeName = 60
	maxThemeCSS  = 64 << 10
)

var accentRE = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// LoadTheme checks a theme's parts and reads its stylesheet from cssFile
// (none when empty). Each error names the flag to fix.
func LoadTheme(name, logoURL, accent, cssFile string) (Theme, error) {
	th := Theme{Name: strings.TrimSpace(name), LogoURL: strings.TrimSpace(logoURL), Accent: strings.TrimSpace(accent)}
	if utf8.RuneCountInString(th.Name) > maxThemeName || strings.ContainsAny(th.Name, "\r\n") {
		return Theme{}, fmt.Errorf("--brand-name: at most %d characters on one line", maxThemeName)
	}
	if th.LogoURL != "" {
		u, err := url.Parse(th.LogoURL)
		ok := err == nil && ((u.Scheme == "https" || u.Scheme == "http") && u.Host != "" || u.Scheme == "data" && strings.HasPrefix(u.Opaque, "image/"))
		if !ok {
			return Theme{}, fmt.Errorf("--brand-logo %q: want an https URL of an image (or a data:image/… URL)", th.LogoURL)
		}
	}
	if th.Accent != "" && !accentRE.MatchString(th.Accent) {
		return Theme{}, fmt.Errorf("--brand-accent %q: want a colour as #rgb or #rrggbb, such as #c8102e", th.Accent)
	}
	if cssFile != "" {
		b, err := os.ReadFile(cssFile)
		switch {
		case err != nil:
			return Theme{}, fmt.Errorf("--brand-css: %w", err)
		case len(b) > maxThemeCSS:
			return Theme{}, fmt.Errorf("--brand-css %s: %d bytes; a theme's stylesheet may have at most %d", cssFile, len(b), maxThemeCSS)
		case !utf8.Valid(b):
			return Theme{}, fmt.Errorf("--brand-css %s: not UTF-8 text", cssFile)
		case strings.Contains(string(b), "<"):
			// Laid into each page's <style>: a "<" could end it and start markup.
			return Theme{}, errors.New("--brand-css " + cssFile + `: holds "<"; a stylesheet needs none (write \3c in a string)`)
		}
		th.CSS = string(b)
	}
	return th, nil
}

// Brand is the name the pages show.
func (th Theme) Brand() string {
	if th.Name == "" {
		return "scanfree"
	}
	return th.Name
}

// Logo is LogoURL for a page's img src: LoadTheme let through only an
// http(s) URL or a data:image URL, which html/template would refuse.
func (th Theme) Logo() template.URL {
	return template.URL(th.LogoURL) //nolint:gosec // checked by LoadTheme
}

// Style is the theme's CSS for a page whose link and button colours are
// the custom properties link and button: the accent, then the operator's
// stylesheet. LoadTheme checked both, so the page may hold them as they are.
func (th Theme) Style(link, button string) template.CSS {
	var b strings.Builder
	if th.Accent != "" {
		fmt.Fprintf(&b, ":root{--%s:%s;--%s:%s}@media (prefers-color-scheme:dark){:root{--%s:%s}}\n", link, th.Accent, button, th.Accent, link, th.Accent)
	}
	b.WriteString(th.CSS)
	return template.CSS(b.String()) //nolint:gosec // checked by LoadTheme: a colour, and a stylesheet without "<"
}
