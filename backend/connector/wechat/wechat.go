// Package wechat is the connector for WeChat's website login as an
// upstream: the browser goes to the qrconnect page, WeChat sends it back
// with a code, and the code is exchanged at /sns/oauth2/access_token and
// the person read at /sns/userinfo. Her unionid (one per WeChat open
// platform account, the same across its apps) is who she is, so she is
// one person here whichever of the company's apps she came through. The
// base URLs are settings: open.weixin.qq.com and api.weixin.qq.com in
// production, another scanfree-server in tests.
//
// WeChat has no deprovisioning to ask about (its refresh tokens simply
// lapse after 30 days), so this connector is no connector.Refresher.
package wechat

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/scanfree/scanfree/backend/connector"
)

// Config is a WeChat connector's settings.
type Config struct {
	AppID         string `yaml:"app_id"`
	AppSecretFile string `yaml:"app_secret_file"`
	AppSecretEnv  string `yaml:"app_secret_env"`
	// ConnectURL serves /connect/qrconnect (https://open.weixin.qq.com);
	// APIURL serves /sns/* (https://api.weixin.qq.com).
	ConnectURL string        `yaml:"connect_url"`
	APIURL     string        `yaml:"api_url"`
	Lang       string        `yaml:"lang"`    // the qrconnect page's language: cn or en (cn)
	Timeout    time.Duration `yaml:"timeout"` // each API request (10s)
}

// Connector is WeChat (or a server that speaks its website login).
type Connector struct {
	id, name, secret string
	cfg              Config
	client           *http.Client
}

var _ connector.CallbackConnector = (*Connector)(nil)

// New checks cfg and returns the connector. It does no I/O.
func New(id, name string, cfg Config, _ *slog.Logger) (*Connector, error) {
	if cfg.AppID == "" {
		return nil, errors.New("app_id: set the website app's AppID from the WeChat open platform")
	}
	var secret string
	switch {
	case cfg.AppSecretFile != "" && cfg.AppSecretEnv != "":
		return nil, errors.New("app_secret_file and app_secret_env: choose one")
	case cfg.AppSecretFile != "":
		b, err := os.ReadFile(cfg.AppSecretFile)
		if err != nil {
			return nil, fmt.Errorf("app_secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	case cfg.AppSecretEnv != "":
		v, ok := os.LookupEnv(cfg.AppSecretEnv)
		if !ok {
			return nil, fmt.Errorf("app_secret_env: %s is not set", cfg.AppSecretEnv)
		}
		secret = v
	default:
		return nil, errors.New("app_secret_file or app_secret_env: set where the AppSecret is")
	}
	cfg.ConnectURL = strings.TrimRight(cmp.Or(cfg.ConnectURL, "https://open.weixin.qq.com"), "/")
	cfg.APIURL = strings.TrimRight(cmp.Or(cfg.APIURL, "https://api.weixin.qq.com"), "/")
	for i, u := range []string{cfg.ConnectURL, cfg.APIURL} {
		p, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", u, err)
		}
		// The qrconnect page is the browser's to open, and browsers keep
		// .localhost names on this machine; the API is this server's to call.
		local := connector.Loopback(p.Hostname()) || (i == 0 && strings.HasSuffix(p.Hostname(), ".localhost"))
		if (p.Scheme != "https" && !(p.Scheme == "http" && local)) || p.Host == "" {
			return nil, fmt.Errorf("%q: want an https:// URL (http only to this machine)", u)
		}
	}
	if cfg.Lang == "" {
		cfg.Lang = "cn"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Connector{id: id, name: name, secret: secret, cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}, nil
}

// ID implements connector.Connector.
func (c *Connector) ID() string { return c.id }

// Name implements connector.Connector.
func (c *Connector) Name() string { return c.name }

// LoginURL implements connector.CallbackConnector: WeChat's qrconnect
// page (state only: WeChat has no nonce or PKCE).
func (c *Connector) LoginURL(_ context.Context, a connector.Attempt) (string, error) {
	q := url.Values{"appid": {c.cfg.AppID}, "redirect_uri": {a.Callback}, "response_type": {"code"}, "scope": {"snsapi_login"},
		"state": {a.State}, "lang": {c.cfg.Lang}}
	return c.cfg.ConnectURL + "/connect/qrconnect?" + q.Encode() + "#wechat_redirect", nil
}

// HandleCallback implements connector.CallbackConnector.
func (c *Connector) HandleCallback(ctx context.Context, _ connector.Attempt, code string) (connector.Identity, error) {
	if code == "" {
		return connector.Identity{}, errors.New("wechat: no code in the callback")
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		OpenID      string `json:"openid"`
		UnionID     string `json:"unionid"`
		Scope       string `json:"scope"`
	}
	if err := c.get(ctx, "/sns/oauth2/access_token", url.Values{"appid": {c.cfg.AppID}, "secret": {c.secret}, "code": {code},
		"grant_type": {"authorization_code"}}, &tok); err != nil {
		return connector.Identity{}, err
	}
	var info struct {
		OpenID     string `json:"openid"`
		Nickname   string `json:"nickname"`
		HeadImgURL string `json:"headimgurl"`
		UnionID    string `json:"unionid"`
	}
	if err := c.get(ctx, "/sns/userinfo", url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}, &info); err != nil {
		return connector.Identity{}, err
	}
	if info.OpenID != tok.OpenID {
		return connector.Identity{}, fmt.Errorf("wechat: userinfo is for %q, the code for %q", info.OpenID, tok.OpenID)
	}
	// The unionid is the person across the company's apps; without one
	// (an app not bound to an open platform account) the openid is.
	subject := cmp.Or(info.UnionID, tok.UnionID)
	if subject == "" {
		subject = "openid:" + tok.OpenID
	}
	return connector.Identity{Connector: c.id, Subject: subject, Username: "wx-" + strings.ToLower(lastN(subject, 8)),
		Name: info.Nickname, Picture: info.HeadImgURL}, nil
}

// get calls the API at path and decodes a success into out. An errcode
// answer is a refused sign-in; no answer is ErrUnavailable.
func (c *Connector) get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.APIURL+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: wechat: %s: %v", connector.ErrUnavailable, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode >= 500 {
		return fmt.Errorf("%w: wechat: %s: %s %v", connector.ErrUnavailable, path, resp.Status, err)
	}
	var e struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("wechat: %s: not JSON: %.100s", path, body)
	}
	if e.ErrCode != 0 {
		return fmt.Errorf("wechat: %s: errcode %d: %s", path, e.ErrCode, e.ErrMsg)
	}
	return json.Unmarshal(body, out)
}

func lastN(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
