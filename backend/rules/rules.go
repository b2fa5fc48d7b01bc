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

// MaxStateLen is WeChat's limit on state.
const MaxStateLen = 128

// RedirectURI checks a redirect_uri against an app's registration:
// it must equal a registered URI byte for byte, or have a host equal to a
// registered domain (no subdomains: a compromised sibling host must not
// receive codes). Domain matches must use https, except loopback names,
// where no one else can listen.
func RedirectURI(app storage.App, raw string) error {
	if raw == "" {
		return errors.New("redirect_uri missing")
	}
	if slices.Contains(app.RedirectURIs, raw) {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("redirect_uri is not an absolute URL without fragment or userinfo")
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range app.Domains {
		if host != strings.ToLower(d) {
			continue
		}
		if u.Scheme == "https" || (u.Scheme == "http" && IsLoopbackHost(host)) {
			return nil
		}
		return errors.New("redirect_uri must use https for a registered domain")
	}
	return errors.New("redirect_uri is not registered for this app")
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
	base, frag, hasFrag := strings.Cut(redirectURI, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	out := base + sep + "code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state)
	if hasFrag {
		out += "#" + frag
	}
	return out
}
