package server

import (
	"context"
	"net/url"

	"github.com/scanfree/scanfree/backend/storage"
)

// The WeChat face's hosted page offers a passkey too. Its link opens the
// login page at the top (WebAuthn does not run in the relying party's
// frame), and the passkey sign-in there completes the WeChat request,
// once (its challenge is spent): a code to the registered redirect_uri,
// as the desktop's dialog or a QR code gives one. That page takes no
// password: the WeChat face never did.

// pathConnectPasskey is where the login page made for a WeChat request
// goes on to; only a passkey sign-in's post completes it.
const pathConnectPasskey = "/connect/passkey"

// connectPasskeyURL is the hosted page's "Sign in with a passkey" link for req.
func connectPasskeyURL(req connectRequest, cn bool) string {
	next := pathConnectPasskey + "?" + url.Values{"appid": {req.AppID}, "redirect_uri": {req.RedirectURI}, "scope": {req.Scope}, "state": {req.State}}.Encode()
	q := url.Values{"next": {next}}
	if cn {
		q.Set("lang", "zh")
	}
	return "/login?" + q.Encode()
}

// wechatResume returns the WeChat sign-in request next carries, when it
// is one the hosted page would show (the app exists, is on, and
// registered the redirect_uri).
func (s *Server) wechatResume(ctx context.Context, next string) (connectRequest, storage.App, bool) {
	u, err := url.Parse(next)
	if err != nil || u.Path != pathConnectPasskey {
		return connectRequest{}, storage.App{}, false
	}
	q := u.Query()
	req := connectRequest{AppID: q.Get("appid"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"), State: q.Get("state")}
	app, err := s.checkConnect(ctx, req)
	return req, app, err == nil
}

// originOf is the origin of uri, for a CSP form-action that lets a form's
// post redirect there ("" when uri has none).
func originOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":" // a native app's private-use scheme
	}
	return u.Scheme + "://" + u.Host
}
