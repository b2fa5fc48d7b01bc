package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/secret"
)

// Desktop apps sign in through the daemon as WeChat mini-programs do (see
// package deviceapi): a login code from the daemon, /sns/jscode2session on
// the app's server, user data encrypted under the session_key.

// errAppsOff answers desktop-app sign-ins on a server without a data key:
// session keys and phone numbers are stored only sealed.
var errAppsOff = apiErr(errBackendRefused, "desktop-app sign-in is off on this server: it was started without --data-key-file")

func (s *Server) consentNeeded(w http.ResponseWriter, ctx context.Context, app storage.App, userID string, phone bool) {
	ans := deviceapi.AppConsentNeeded{Error: deviceapi.Error{ErrCode: deviceapi.CodeConsent,
		ErrMsg: "the person has not allowed this app yet; ask them"}, App: appInfo(app), Phone: phone}
	if u, err := s.store.GetUser(ctx, userID); err == nil {
		ans.Account = u.Nickname
	}
	if phone {
		ans.ErrMsg = "the person has not allowed this app their phone number yet; ask them"
	}
	writeJSON(w, http.StatusForbidden, ans)
}

// appRequest decodes a desktop app's device-API request and returns it
// with its app; when ok is false it has answered the failure.
func appRequest[T any](s *Server, w http.ResponseWriter, r *http.Request, appID func(*T) string) (req T, app storage.App, ok bool) {
	if err := decodeJSON(w, r, &req); err != nil {
		writeDeviceErr(w, apiErr(errBackendRefused, err.Error()))
		return req, app, false
	}
	if !s.dataKeyLoaded() {
		writeDeviceErr(w, errAppsOff)
		return req, app, false
	}
	app, serr := s.getApp(r.Context(), appID(&req))
	if serr != nil {
		writeDeviceErr(w, serr)
		return req, app, false
	}
	return req, app, true
}

// handleAppCode mints a desktop app's login code for the device's user,
// once the person has allowed the app (now, or before).
func (s *Server) handleAppCode(w http.ResponseWriter, r *http.Request, d storage.Device) {
	ctx := r.Context()
	req, app, ok := appRequest(s, w, r, func(r *deviceapi.AppCodeRequest) string { return r.AppID })
	if !ok {
		return
	}
	code, err := s.signin.MintAppCode(ctx, signin.AppGrant{App: app, Device: d, Consent: req.Consent, Addr: s.clientIP(r)})
	var ref *signin.Refusal
	if errors.As(err, &ref) && ref.Reason == signin.ConsentNeeded {
		s.consentNeeded(w, ctx, app, d.UserID, false)
		return
	} else if err != nil {
		s.internalError(w, r, "app code", err)
		return
	}
	writeJSON(w, http.StatusOK, deviceapi.AppCode{Code: code, ExpiresIn: int(s.cfg.CodeTTL.Seconds()), AppName: app.Name})
}

// errRateLimited is WeChat's minute quota.
const errRateLimited = 45011

// handleJSCode2Session serves GET /sns/jscode2session for an app's server:
// the login code for openid, unionid and a fresh session_key, which
// replaces the previous one for this person and app.
func (s *Server) handleJSCode2Session(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v, serr := required(q, param{"appid", errMissingAppID}, param{"secret", errMissingSecret}, param{"js_code", errMissingCode})
	if serr == nil && q.Get("grant_type") != "authorization_code" {
		serr = apiErr(errInvalidGrantType, "invalid grant_type, want authorization_code")
	}
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	app, serr := s.appBySecret(ctx, v[0], v[1])
	if serr != nil {
		writeSNS(w, serr)
		return
	}
	if !s.dataKeyLoaded() {
		writeSNS(w, apiErr(errSystem, errAppsOff.Msg))
		return
	}
	now := s.now()
	c, err := s.signin.Redeem(ctx, signin.Redemption{Face: storage.FaceJSCode, AppID: app.AppID, Code: v[2],
		Check: func(c storage.Code) error {
			if ok, err := s.jscodeLim.Take(ctx, app.AppID+"/"+c.UserID); err != nil {
				return s.sysErr(ctx, err)
			} else if !ok {
				return apiErr(errRateLimited, "api minute-quota reach limit, retry next minute")
			}
			return nil
		}})
	if serr := s.wechatRefusal(ctx, err); serr != nil {
		if serr.Code == errCodeExpired {
			serr = apiErr(errInvalidCode, "invalid code: expired") // jscode2session has no errcode of its own for it
		}
		writeSNS(w, serr)
		return
	}
	key := make([]byte, 16)
	rand.Read(key)
	err = s.store.SetSessionKey(ctx, c.UserID, app.AppID, secret.Seal(s.cfg.DataKey, secret.PurposeSessionKey, key, []byte(c.UserID+"/"+app.AppID)), now)
	if errors.Is(err, storage.ErrNotFound) {
		writeSNS(w, apiErr(errInvalidCode, "invalid code: the person withdrew this app's consent"))
		return
	} else if err != nil {
		writeSNS(w, s.sysErr(ctx, err))
		return
	}
	openid, unionid, err := s.signin.IDs(ctx, c.UserID, app)
	if err != nil {
		writeSNS(w, s.sysErr(ctx, err))
		return
	}
	writeSNS(w, map[string]string{"openid": openid, "session_key": base64.StdEncoding.EncodeToString(key), "unionid": unionid})
}

// sessionKey opens the live session_key of (userID, app), with the consent.
func (s *Server) sessionKey(ctx context.Context, userID, appID string) (storage.Consent, []byte, error) {
	c, err := s.store.GetConsent(ctx, userID, appID)
	if err != nil {
		return c, nil, err
	}
	if c.SessionKey == nil || !s.now().Before(c.SessionAt.Add(s.cfg.RefreshTTL)) {
		return c, nil, nil
	}
	key, err := secret.Open(s.cfg.DataKey, secret.PurposeSessionKey, c.SessionKey, []byte(userID+"/"+appID))
	return c, key, err
}

// errNoSession answers data asked for before the app's server redeemed a
// login code (there is no session_key to encrypt under).
var errNoSession = apiErr(errBackendRefused, "no live session for this app: sign in first (a login code redeemed at /sns/jscode2session)")

// handleAppData mints the person's data for a desktop app, encrypted under
// the app's session_key; the phone number only with its own consent.
func (s *Server) handleAppData(w http.ResponseWriter, r *http.Request, d storage.Device) {
	ctx := r.Context()
	req, app, ok := appRequest(s, w, r, func(r *deviceapi.AppDataRequest) string { return r.AppID })
	if !ok {
		return
	}
	c, key, err := s.sessionKey(ctx, d.UserID, app.AppID)
	if errors.Is(err, storage.ErrNotFound) {
		// Never signed in (or forgotten): no session_key to encrypt under,
		// and nothing to ask the person about the phone number yet.
		writeDeviceErr(w, errNoSession)
		return
	} else if err != nil {
		s.internalError(w, r, "app data", err)
		return
	}
	if key == nil {
		writeDeviceErr(w, errNoSession)
		return
	}
	u, err := s.store.GetUser(ctx, d.UserID)
	if err != nil {
		s.internalError(w, r, "app data", err)
		return
	}
	var phone *storage.Phone
	if req.Phone {
		if u.PhoneSealed == nil {
			writeDeviceErr(w, apiErr(errBackendRefused, "this account has no verified phone number"))
			return
		}
		if c.PhoneAt.IsZero() && !req.ConsentPhone {
			s.consentNeeded(w, ctx, app, d.UserID, true)
			return
		}
		if c.PhoneAt.IsZero() {
			c.PhoneAt = s.now()
			if err := s.store.PutConsent(ctx, c); err != nil {
				s.internalError(w, r, "app data", err)
				return
			}
			s.signin.Event(ctx, storage.Event{UserID: d.UserID, Kind: "app_phone_allowed", AppID: app.AppID, DeviceID: d.ID,
				Detail: "Allowed " + app.Name + " the phone number"})
		}
		plain, err := secret.Open(s.cfg.DataKey, secret.PurposePhone, u.PhoneSealed, []byte(u.ID))
		if err != nil {
			s.internalError(w, r, "app data: phone", err)
			return
		}
		phone = new(storage.Phone)
		if err := json.Unmarshal(plain, phone); err != nil {
			s.internalError(w, r, "app data: phone", err)
			return
		}
	}
	data, err := s.appData(ctx, app, u, key, phone)
	if err != nil {
		s.internalError(w, r, "app data", err)
		return
	}
	writeJSON(w, http.StatusOK, data)
}

// appData builds WeChat's getUserInfo (and getPhoneNumber) answers.
func (s *Server) appData(ctx context.Context, app storage.App, u storage.User, key []byte, phone *storage.Phone) (deviceapi.AppData, error) {
	openid, unionid, err := s.signin.IDs(ctx, u.ID, app)
	if err != nil {
		return deviceapi.AppData{}, err
	}
	// The fields and order of WeChat's userInfo; gender and region are not
	// collected, as WeChat itself answers them empty since 2021.
	type userInfo struct {
		NickName  string `json:"nickName"`
		Gender    int    `json:"gender"`
		Language  string `json:"language"`
		City      string `json:"city"`
		Province  string `json:"province"`
		Country   string `json:"country"`
		AvatarURL string `json:"avatarUrl"`
	}
	info := userInfo{NickName: u.Nickname, Language: "en", AvatarURL: u.AvatarURL}
	raw, _ := json.Marshal(info)
	sig := sha1.Sum(append(raw, base64.StdEncoding.EncodeToString(key)...))
	wm := map[string]any{"appid": app.AppID, "timestamp": s.now().Unix()}
	plain, _ := json.Marshal(struct {
		OpenID string `json:"openId"`
		userInfo
		UnionID   string         `json:"unionId"`
		Watermark map[string]any `json:"watermark"`
	}{openid, info, unionid, wm})
	enc, iv, err := encryptCBC(key, plain)
	if err != nil {
		return deviceapi.AppData{}, err
	}
	out := deviceapi.AppData{RawData: string(raw), Signature: hex.EncodeToString(sig[:]), EncryptedData: enc, IV: iv,
		UserInfo: map[string]any{"nickName": info.NickName, "gender": 0, "language": info.Language, "city": "", "province": "", "country": "", "avatarUrl": info.AvatarURL}}
	if phone != nil {
		pj, _ := json.Marshal(map[string]any{"phoneNumber": phone.Pure, "purePhoneNumber": phone.Pure, "countryCode": phone.CountryCode, "watermark": wm})
		enc, iv, err := encryptCBC(key, pj)
		if err != nil {
			return deviceapi.AppData{}, err
		}
		out.Phone = &deviceapi.EncryptedData{EncryptedData: enc, IV: iv}
	}
	return out, nil
}

// encryptCBC is WeChat's encryptedData: AES-128-CBC with PKCS#7 padding
// under key and a random iv, both answers base64.
func encryptCBC(key, plain []byte) (string, string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", "", err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte{}, plain...), make([]byte, pad)...)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	iv := make([]byte, aes.BlockSize)
	rand.Read(iv)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), base64.StdEncoding.EncodeToString(iv), nil
}

// handleAppSession answers 0 while the app's session_key is live
// (wx.checkSession), else the errcode to sign in again.
func (s *Server) handleAppSession(w http.ResponseWriter, r *http.Request, d storage.Device) {
	_, app, ok := appRequest(s, w, r, func(r *deviceapi.AppSessionRequest) string { return r.AppID })
	if !ok {
		return
	}
	_, key, err := s.sessionKey(r.Context(), d.UserID, app.AppID)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && key == nil):
		writeDeviceErr(w, errNoSession)
	case err != nil:
		s.internalError(w, r, "app session", err)
	default:
		writeJSON(w, http.StatusOK, apiErr(0, "ok"))
	}
}

// handleAppConsents lists the desktop apps the device's user allowed.
func (s *Server) handleAppConsents(w http.ResponseWriter, r *http.Request, d storage.Device) {
	list, err := s.consents(r.Context(), d.UserID)
	if err != nil {
		s.internalError(w, r, "app consents", err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) consents(ctx context.Context, userID string) ([]deviceapi.AppConsent, error) {
	cs, err := s.store.ListConsents(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []deviceapi.AppConsent{}
	for _, c := range cs {
		out = append(out, deviceapi.AppConsent{AppID: c.AppID, AppName: s.appName(ctx, c.AppID), LoginAt: c.LoginAt, PhoneAt: c.PhoneAt})
	}
	return out, nil
}

// handleAppForget withdraws a desktop app's consent (and its phone
// number's, and its session_key): its next login asks again.
func (s *Server) handleAppForget(w http.ResponseWriter, r *http.Request, d storage.Device) {
	if err := s.forgetApp(r.Context(), d.UserID, r.PathValue("appid"), d.Name); err != nil {
		s.internalError(w, r, "app forget", err)
		return
	}
	writeJSON(w, http.StatusOK, apiErr(0, "ok"))
}

func (s *Server) forgetApp(ctx context.Context, userID, appID, where string) error {
	return s.signin.ForgetApp(ctx, userID, appID, "Withdrew "+s.appName(ctx, appID)+"'s desktop sign-in (from "+where+")")
}
