package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/secret"
)

// WeChat-compatible errcodes of the /sns/* API.
const (
	errInvalidGrantType   = 40002 // WeChat's code for a wrong grant_type; not in the design's list, which is silent on it
	errInvalidOpenID      = 40003
	errInvalidAppID       = 40013
	errInvalidAccessToken = 40014
	errInvalidCode        = 40029
	errInvalidRefresh     = 40030
	errInvalidSecret      = 40125
	errCodeUsed           = 40163
	errAccessExpired      = 42001
	errRefreshExpired     = 42002
	errCodeExpired        = 42003
	errMissingAccessToken = 41001
	errMissingAppID       = 41002
	errMissingRefresh     = 41003
	errMissingSecret      = 41004
	errMissingCode        = 41008
	errMissingOpenID      = 41009
	errSystem             = deviceapi.CodeSystem
)

// apiError is the {"errcode","errmsg"} refusal the WeChat face, desktop
// apps and the device API answer (WeChat answers it with HTTP 200).
type apiError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *apiError) Error() string { return e.Msg }

func apiErr(code int, msg string) *apiError { return &apiError{Code: code, Msg: msg} }

func writeSNS(w http.ResponseWriter, v any) { writeJSON(w, http.StatusOK, v) }

// param is one required query parameter and the errcode for its absence.
type param struct {
	name    string
	missing int
}

// required reads the named parameters in order and reports the first that
// is absent or empty. A parameter given twice is ambiguous and refused.
func required(q url.Values, params ...param) ([]string, *apiError) {
	out := make([]string, len(params))
	for i, p := range params {
		vs := q[p.name]
		if len(vs) == 0 || vs[0] == "" {
			return nil, apiErr(p.missing, "missing "+p.name)
		}
		if len(vs) > 1 {
			return nil, apiErr(p.missing, p.name+" given more than once")
		}
		out[i] = vs[0]
	}
	return out, nil
}

// accessTokenRequest is a parsed /sns/oauth2/access_token query.
type accessTokenRequest struct{ AppID, Secret, Code string }

func parseAccessTokenRequest(q url.Values) (accessTokenRequest, *apiError) {
	v, err := required(q, param{"appid", errMissingAppID}, param{"secret", errMissingSecret}, param{"code", errMissingCode})
	if err != nil {
		return accessTokenRequest{}, err
	}
	if gt := q.Get("grant_type"); gt != "authorization_code" {
		return accessTokenRequest{}, apiErr(errInvalidGrantType, "invalid grant_type, want authorization_code")
	}
	return accessTokenRequest{AppID: v[0], Secret: v[1], Code: v[2]}, nil
}

// refreshRequest is a parsed /sns/oauth2/refresh_token query.
type refreshRequest struct{ AppID, RefreshToken string }

func parseRefreshRequest(q url.Values) (refreshRequest, *apiError) {
	v, err := required(q, param{"appid", errMissingAppID}, param{"refresh_token", errMissingRefresh})
	if err != nil {
		return refreshRequest{}, err
	}
	if gt := q.Get("grant_type"); gt != "refresh_token" {
		return refreshRequest{}, apiErr(errInvalidGrantType, "invalid grant_type, want refresh_token")
	}
	return refreshRequest{AppID: v[0], RefreshToken: v[1]}, nil
}

// tokenRequest is a parsed /sns/auth or /sns/userinfo query.
type tokenRequest struct{ AccessToken, OpenID string }

func parseTokenRequest(q url.Values) (tokenRequest, *apiError) {
	v, err := required(q, param{"access_token", errMissingAccessToken}, param{"openid", errMissingOpenID})
	if err != nil {
		return tokenRequest{}, err
	}
	return tokenRequest{AccessToken: v[0], OpenID: v[1]}, nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid"`
}

// appBySecret returns the app when secret is its secret.
func (s *Server) appBySecret(ctx context.Context, appID, sec string) (storage.App, *apiError) {
	app, err := s.store.GetApp(ctx, appID)
	if errors.Is(err, storage.ErrNotFound) {
		return app, apiErr(errInvalidAppID, "invalid appid")
	}
	if err != nil {
		return app, s.sysErr(ctx, err)
	}
	if !app.Active() {
		return app, errAppDisabled
	}
	if !app.SecretMatches(secret.Hash(sec), s.now(), secret.Equal) {
		return app, apiErr(errInvalidSecret, "invalid appsecret")
	}
	return app, nil
}

// errAppDisabled answers every call of an app an operator disabled.
var errAppDisabled = apiErr(errInvalidAppID, "invalid appid: this app was disabled by its operator")

func (s *Server) sysErr(ctx context.Context, err error) *apiError {
	s.log.ErrorContext(ctx, "sns", "err", err)
	return apiErr(errSystem, "system error, retry later")
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, serr := parseAccessTokenRequest(r.URL.Query())
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	app, serr := s.appBySecret(ctx, req.AppID, req.Secret)
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	resp, serr := s.exchangeCode(ctx, app, req.Code)
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	writeSNS(w, resp)
}

// exchangeCode redeems code for app through the sign-in core: a code
// presented a second time, even by its rightful app, revokes every token
// the first exchange issued (RFC 6749 section 4.1.2).
func (s *Server) exchangeCode(ctx context.Context, app storage.App, code string) (tokenResponse, *apiError) {
	now := s.now()
	access, refresh := secret.Token(), secret.Token()
	c, err := s.signin.Redeem(ctx, signin.Redemption{Face: storage.FaceWeChat, AppID: app.AppID, Code: code,
		Issue: func(c storage.Code) []storage.Token {
			return []storage.Token{
				{Hash: secret.Hash(access), Kind: storage.AccessToken, AppID: app.AppID, UserID: c.UserID, CodeHash: c.Hash,
					Scope: c.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.AccessTTL), Face: storage.FaceWeChat},
				{Hash: secret.Hash(refresh), Kind: storage.RefreshToken, AppID: app.AppID, UserID: c.UserID, CodeHash: c.Hash,
					Scope: c.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL), Face: storage.FaceWeChat},
			}
		}})
	if serr := s.wechatRefusal(ctx, err); serr != nil {
		return tokenResponse{}, serr
	}
	return s.tokenResponse(ctx, app, c.UserID, access, refresh, c.Scope)
}

// wechatRefusal maps the core's answer to a redemption to WeChat's
// errcodes; nil when it succeeded.
func (s *Server) wechatRefusal(ctx context.Context, err error) *apiError {
	var ref *signin.Refusal
	var serr *apiError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &serr):
		return serr // the face's own check
	case !errors.As(err, &ref):
		return s.sysErr(ctx, err)
	case ref.Reason == signin.CodeReused:
		return apiErr(errCodeUsed, "code been used")
	case ref.Reason == signin.CodeExpired:
		return apiErr(errCodeExpired, "code expired")
	case ref.Reason == signin.TokenExpired:
		return apiErr(errRefreshExpired, "refresh_token expired")
	case ref.Reason == signin.TokenInvalid || ref.Reason == signin.TokenRevoked || ref.Reason == signin.TokenReused:
		return apiErr(errInvalidRefresh, "invalid refresh_token")
	}
	return apiErr(errInvalidCode, ref.Msg)
}

// tokenResponse answers an exchange or refresh with the user's ids for app.
func (s *Server) tokenResponse(ctx context.Context, app storage.App, userID, access, refresh, scope string) (tokenResponse, *apiError) {
	openid, unionid, err := s.signin.IDs(ctx, userID, app)
	if err != nil {
		return tokenResponse{}, s.sysErr(ctx, err)
	}
	return tokenResponse{AccessToken: access, ExpiresIn: int(s.cfg.AccessTTL.Seconds()), RefreshToken: refresh,
		OpenID: openid, Scope: scope, UnionID: unionid}, nil
}

func (s *Server) handleRefreshToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, serr := parseRefreshRequest(r.URL.Query())
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	app, err := s.store.GetApp(ctx, req.AppID)
	if errors.Is(err, storage.ErrNotFound) {
		writeSNS(w, apiErr(errInvalidAppID, "invalid appid"))
		return
	} else if err != nil {
		writeSNS(w, s.sysErr(ctx, err))
		return
	}
	if !app.Active() {
		writeSNS(w, errAppDisabled)
		return
	}
	// The new access token joins the family under its lock: a revocation
	// racing this refresh (on any replica) takes it back too, or comes
	// first and this refresh is refused.
	now := s.now()
	access := secret.Token()
	rt, err := s.signin.Refresh(ctx, signin.Refresh{Face: storage.FaceWeChat, AppID: app.AppID, Token: req.RefreshToken,
		Issue: func(rt storage.Token) []storage.Token {
			return []storage.Token{{Hash: secret.Hash(access), Kind: storage.AccessToken, AppID: app.AppID, UserID: rt.UserID,
				CodeHash: rt.CodeHash, Scope: rt.Scope, CreatedAt: now, ExpiresAt: now.Add(s.cfg.AccessTTL), Face: storage.FaceWeChat}}
		}})
	if serr := s.wechatRefusal(ctx, err); serr != nil {
		writeSNS(w, serr)
		return
	}
	resp, serr := s.tokenResponse(ctx, app, rt.UserID, access, req.RefreshToken, rt.Scope)
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	writeSNS(w, resp)
}

// checkAccess validates an access token and that openid names its user,
// with the token's user and app read together.
func (s *Server) checkAccess(ctx context.Context, req tokenRequest) (storage.Access, *apiError) {
	a, err := s.store.GetAccess(ctx, secret.Hash(req.AccessToken))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return a, s.sysErr(ctx, err)
	}
	t := a.Token
	if err != nil || t.Kind != storage.AccessToken || !t.RevokedAt.IsZero() || t.Face != storage.FaceWeChat {
		return a, apiErr(errInvalidAccessToken, "invalid access_token")
	}
	if !s.now().Before(t.ExpiresAt) {
		return a, apiErr(errAccessExpired, "access_token expired")
	}
	if !a.App.Active() {
		return a, errAppDisabled
	}
	openid, err := s.signin.OpenID(ctx, t.UserID, t.AppID)
	if err != nil {
		return a, s.sysErr(ctx, err)
	}
	if !secret.Equal([]byte(openid), []byte(req.OpenID)) {
		return a, apiErr(errInvalidOpenID, "invalid openid")
	}
	return a, nil
}

func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	req, serr := parseTokenRequest(r.URL.Query())
	if serr == nil {
		_, serr = s.checkAccess(r.Context(), req)
	}
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	writeSNS(w, apiErr(0, "ok"))
}

type userinfo struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid"`
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req, serr := parseTokenRequest(r.URL.Query())
	var a storage.Access
	if serr == nil {
		a, serr = s.checkAccess(ctx, req)
	}
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	unionid, err := s.signin.UnionID(ctx, a.User.ID, a.App.Owner)
	if err != nil {
		writeSNS(w, s.sysErr(ctx, err))
		return
	}
	// Sex and region are not collected; WeChat itself answers them empty since 2021.
	writeSNS(w, userinfo{OpenID: req.OpenID, Nickname: a.User.Nickname, HeadImgURL: a.User.AvatarURL, Privilege: []string{}, UnionID: unionid})
}
