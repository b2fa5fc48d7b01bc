// Package rules holds the checks every sign-in passes, wherever it starts:
// the hosted page before it shows anything, the device API before the
// daemon raises its dialog and again when it mints a code, the QR
// confirmation, and the admin CLI when it registers an app. One copy, so
// no path can be looser than another.
package rules

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// allowedScopes are the scopes a website login may ask for.
var allowedScopes = []string{"snsapi_login", "snsapi_userinfo"}

// MaxStateLen is WeChat's limit on state (the contract's).
const MaxStateLen = deviceapi.MaxStateLen

// MaxRedirectURILen caps a redirect_uri (the contract's).
const MaxRedirectURILen = deviceapi.MaxRedirectURILen

// RedirectURI checks a redirect_uri against an app's registration. It
// must equal a registered URI byte for byte, or lie under one (same
// scheme, host and port; a path below the registered one at a "/"; the
// registered URI has no query), or be on a registered domain: the host
// equal to it (no subdomains: a compromised sibling host must not receive
// codes) and the port the domain names, or the scheme's default. Outside
// an exact match the path must be plain: no dot segments, no "//", no
// encoded "/" or "\". Domain matches use https, except loopback names,
// where no one else can listen. In every case the URI is at most 2 KB,
// has no backslash, space or control character, and carries no code or
// state of its own: the server adds those.
func RedirectURI(app storage.App, raw string) error {
	if raw == "" {
		return errors.New("redirect_uri missing")
	}
	if len(raw) > MaxRedirectURILen {
		return fmt.Errorf("redirect_uri longer than %d bytes", MaxRedirectURILen)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r == '\\' || r <= ' ' || r == 0x7f }) {
		return errors.New("redirect_uri contains a backslash, a space or a control character")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("redirect_uri is not an absolute URL without fragment or userinfo")
	}
	if q := u.Query(); q.Has("code") || q.Has("state") {
		return errors.New("redirect_uri already carries code or state; the server adds them")
	}
	if slices.Contains(app.RedirectURIs, raw) {
		return nil
	}
	if !plainPath(u.EscapedPath()) {
		return errors.New("redirect_uri path has dot segments, an empty segment or an encoded slash")
	}
	for _, r := range app.RedirectURIs {
		if under(u, r) {
			return nil
		}
	}
	host, port := strings.ToLower(u.Hostname()), effectivePort(u)
	for _, d := range app.Domains {
		dhost, dport, hasPort := strings.Cut(strings.ToLower(d), ":")
		if host != dhost || (hasPort && port != dport) || (!hasPort && port != defaultPort[u.Scheme]) {
			continue
		}
		if u.Scheme == "https" || (u.Scheme == "http" && IsLoopbackHost(host)) {
			return nil
		}
		return errors.New("redirect_uri must use https for a registered domain")
	}
	return errors.New("redirect_uri is not registered for this app")
}

var defaultPort = map[string]string{"http": "80", "https": "443"}

// effectivePort is u's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort[u.Scheme]
}

// under reports whether u lies under the registered URI reg: same scheme,
// host and port, and a path equal to reg's or below it at a "/"; a
// registered URI with a query admits only itself.
func under(u *url.URL, reg string) bool {
	r, err := url.Parse(reg)
	if err != nil || r.RawQuery != "" || !strings.EqualFold(r.Scheme, u.Scheme) || !strings.EqualFold(r.Hostname(), u.Hostname()) ||
		effectivePort(r) != effectivePort(u) {
		return false
	}
	rp, up := r.EscapedPath(), u.EscapedPath()
	if rp == "" {
		rp = "/"
	}
	return up == rp || strings.HasPrefix(up, strings.TrimSuffix(rp, "/")+"/")
}

// plainPath reports whether an escaped path has no dot segments, no empty
// segment (which some servers read as another host: "//evil.example")
// and no encoded slash or backslash.
func plainPath(p string) bool {
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(p, "//") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") ||
			strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
			return false
		}
	}
	return true
}

// RegisteredURI checks a redirect URI an admin registers.
func RegisteredURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("redirect URI %q: want an absolute http(s) URL without fragment or userinfo", raw)
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("redirect URI %q: plain http is allowed only for localhost; use https", raw)
	}
	if len(raw) > MaxRedirectURILen {
		return fmt.Errorf("redirect URI longer than %d bytes", MaxRedirectURILen)
	}
	if q := u.Query(); q.Has("code") || q.Has("state") {
		return fmt.Errorf("redirect URI %q: carries code or state; the server adds them", raw)
	}
	return nil
}

// IsLoopbackHost reports whether host names this machine only.
func IsLoopbackHost(host string) bool { return deviceapi.IsLoopbackHost(host) }

// Scope checks a comma-separated scope list.
func Scope(scope string) error {
	if scope == "" {
		return errors.New("scope missing")
	}
	for _, s := range strings.Split(scope, ",") {
		if !slices.Contains(allowedScopes, s) {
			return fmt.Errorf("scope %q is not allowed; use snsapi_login", s)
		}
	}
	return nil
}

// State checks the relying party's state parameter.
func State(state string) error {
	if len(state) > MaxStateLen {
		return fmt.Errorf("state longer than %d bytes", MaxStateLen)
	}
	return nil
}

// SignIn checks one sign-in's redirect_uri, scope and state against app,
// and returns the first failure.
func SignIn(app storage.App, redirectURI, scope, state string) error {
	if err := RedirectURI(app, redirectURI); err != nil {
		return err
	}
	if err := Scope(scope); err != nil {
		return err
	}
	return State(state)
}

// RedirectURL appends code and state to redirectURI, with "?" or "&" as its
// query requires and before any fragment, leaving the rest byte for byte.
func RedirectURL(redirectURI, code, state string) string {
	return RedirectWith(redirectURI, "code", code, "state", state)
}

// RedirectWith appends the name/value pairs kv to redirectURI as
// RedirectURL does.
func RedirectWith(redirectURI string, kv ...string) string {
	base, frag, hasFrag := strings.Cut(redirectURI, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	var b strings.Builder
	b.WriteString(base)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(sep)
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
		sep = "&"
	}
	if hasFrag {
		b.WriteString("#" + frag)
	}
	return b.String()
}
