package demo

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// The shop's server side for its desktop app, written as a WeChat
// mini-program's server is written, with only the host changed: the app
// posts its login code, the server redeems it at /sns/jscode2session and
// keeps openid and session_key; the app posts the encrypted user data,
// the server checks its signature and decrypts it with the session_key.

// desktopSession is what the shop keeps for a signed-in desktop app.
type desktopSession struct {
	OpenID, UnionID string
	SessionKey      string
}

func (s *Shop) desktopRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/desktop/config", func(w http.ResponseWriter, r *http.Request) {
		apiJSON(w, http.StatusOK, map[string]string{"appid": s.cfg.AppID})
	})
	mux.HandleFunc("POST /api/desktop/login", s.desktopLogin)
	mux.HandleFunc("POST /api/desktop/profile", s.desktopProfile)
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, msg string) {
	apiJSON(w, status, map[string]string{"error": msg})
}

// desktopLogin redeems the app's login code and answers a shop token.
func (s *Shop) desktopLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || in.Code == "" {
		apiErr(w, http.StatusBadRequest, "send {\"code\": …} from scanfreed")
		return
	}
	var sess struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid"`
		ErrCode    int    `json:"errcode"`
		ErrMsg     string `json:"errmsg"`
	}
	q := url.Values{"appid": {s.cfg.AppID}, "secret": {s.cfg.Secret}, "js_code": {in.Code}, "grant_type": {"authorization_code"}}
	if err := s.get(r.Context(), "/sns/jscode2session?"+q.Encode(), &sess); err != nil {
		apiErr(w, http.StatusBadGateway, err.Error())
		return
	}
	if sess.ErrCode != 0 || sess.SessionKey == "" {
		apiErr(w, http.StatusUnauthorized, fmt.Sprintf("jscode2session: errcode %d %s", sess.ErrCode, sess.ErrMsg))
		return
	}
	token := random()
	s.mu.Lock()
	s.desktop[token] = desktopSession{OpenID: sess.OpenID, UnionID: sess.UnionID, SessionKey: sess.SessionKey}
	s.mu.Unlock()
	apiJSON(w, http.StatusOK, map[string]string{"token": token, "openid": sess.OpenID})
}

// DesktopProfile is what the shop's server read from a desktop app's
// encrypted user data.
type DesktopProfile struct {
	OpenID   string `json:"openId"`
	NickName string `json:"nickName"`
	Phone    string `json:"phone,omitempty"`
}

// desktopProfile checks and decrypts the user data the app sends.
func (s *Shop) desktopProfile(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token         string `json:"token"`
		RawData       string `json:"rawData"`
		Signature     string `json:"signature"`
		EncryptedData string `json:"encryptedData"`
		IV            string `json:"iv"`
		Phone         *struct {
			EncryptedData string `json:"encryptedData"`
			IV            string `json:"iv"`
		} `json:"phone"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
		apiErr(w, http.StatusBadRequest, "malformed request")
		return
	}
	s.mu.Lock()
	sess, ok := s.desktop[in.Token]
	s.mu.Unlock()
	if !ok {
		apiErr(w, http.StatusUnauthorized, "unknown token; log in again")
		return
	}
	p, err := OpenUserData(sess.SessionKey, s.cfg.AppID, in.RawData, in.Signature, in.EncryptedData, in.IV)
	if err != nil {
		apiErr(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.OpenID != sess.OpenID {
		apiErr(w, http.StatusBadRequest, "user data is for another person")
		return
	}
	if in.Phone != nil {
		var ph struct {
			Phone       string `json:"purePhoneNumber"`
			CountryCode string `json:"countryCode"`
		}
		if err := decryptInto(sess.SessionKey, s.cfg.AppID, in.Phone.EncryptedData, in.Phone.IV, &ph); err != nil {
			apiErr(w, http.StatusBadRequest, "phone: "+err.Error())
			return
		}
		p.Phone = "+" + ph.CountryCode + " " + ph.Phone
	}
	apiJSON(w, http.StatusOK, p)
}

// OpenUserData checks signature = sha1(rawData + session_key) and
// decrypts encryptedData (AES-128-CBC, PKCS#7, key = base64-decoded
// session_key), checking the watermark's appid, as a mini-program's
// server does.
func OpenUserData(sessionKey, appID, rawData, signature, encrypted, iv string) (DesktopProfile, error) {
	sum := sha1.Sum([]byte(rawData + sessionKey))
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(signature)) != 1 {
		return DesktopProfile{}, errors.New("signature does not match rawData")
	}
	var p DesktopProfile
	return p, decryptInto(sessionKey, appID, encrypted, iv, &p)
}

func decryptInto(sessionKey, appID, encrypted, iv string, out any) error {
	key, err1 := base64.StdEncoding.DecodeString(sessionKey)
	data, err2 := base64.StdEncoding.DecodeString(encrypted)
	ivb, err3 := base64.StdEncoding.DecodeString(iv)
	if err1 != nil || err2 != nil || err3 != nil || len(key) != 16 || len(ivb) != aes.BlockSize || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return errors.New("malformed encrypted data")
	}
	block, _ := aes.NewCipher(key)
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(plain, data)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return errors.New("bad padding: not encrypted with this session_key")
	}
	plain = plain[:len(plain)-pad]
	var wm struct {
		Watermark struct {
			AppID string `json:"appid"`
		} `json:"watermark"`
	}
	if err := json.Unmarshal(plain, &wm); err != nil {
		return errors.New("decrypted data is not JSON")
	}
	if wm.Watermark.AppID != appID {
		return errors.New("watermark names another app")
	}
	return json.Unmarshal(plain, out)
}
