package server_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// appEnv is a backend with desktop-app sign-in on, alice (with a phone)
// enrolled on a desktop, and two apps.
type appEnv struct {
	*env
	cred   string
	a, b   admin.NewApp
	dbPath string
}

func newAppEnv(t *testing.T, mod func(*server.Config)) *appEnv {
	t.Helper()
	e := newEnvWith(t, func(c *server.Config) {
		c.DataKey = testDataKey
		if mod != nil {
			mod(c)
		}
	})
	if _, err := admin.CreateUser(context.Background(), e.store, admin.UserSpec{Username: "alice", Nickname: "Alice",
		AvatarURL: "https://avatar.example/alice", Password: "alice-password", Phone: "+86 13580006666", DataKey: testDataKey}, e.clock()); err != nil {
		t.Fatal(err)
	}
	return &appEnv{env: e, cred: e.enrol("alice"), a: e.app(admin.AppSpec{Name: "Chat", FastLogin: true}), b: e.app(admin.AppSpec{Name: "Notes", FastLogin: true}), dbPath: e.store.Path()}
}

// device posts body to a device-API path with the desktop's credential.
func (a *appEnv) device(path string, body any, out any) int {
	a.t.Helper()
	b, _ := json.Marshal(body)
	resp := a.do("POST", path, http.Header{"Authorization": {"Bearer " + a.cred}, "Content-Type": {"application/json"}}, bytes.NewReader(b), out)
	return resp.StatusCode
}

// login gets a login code for app, allowing it if asked.
func (a *appEnv) login(app admin.NewApp) string {
	a.t.Helper()
	var c deviceapi.AppCode
	if st := a.device(deviceapi.PathAppCode, deviceapi.AppCodeRequest{AppID: app.AppID, Consent: true}, &c); st != 200 || c.Code == "" {
		a.t.Fatalf("app code: %d %+v", st, c)
	}
	return c.Code
}

type session struct {
	apiErr
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

func (a *appEnv) jscode(appid, secret, code string) session {
	a.t.Helper()
	var s session
	a.getJSON("/sns/jscode2session?"+url.Values{"appid": {appid}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}.Encode(), &s)
	return s
}

func TestAppSignIn(t *testing.T) {
	a := newAppEnv(t, nil)
	// First time: the backend answers that the person must be asked.
	var need deviceapi.AppConsentNeeded
	if st := a.device(deviceapi.PathAppCode, deviceapi.AppCodeRequest{AppID: a.a.AppID}, &need); st != 403 || need.ErrCode != deviceapi.CodeConsent ||
		need.App.Name != "Chat" || need.Account != "Alice" {
		t.Fatalf("first code without consent: %d %+v", st, need)
	}
	// User data before any login: no session to encrypt under, and no
	// phone question for an app never allowed.
	var e apiErr
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID, Phone: true}, &e); st != 400 || e.ErrCode != deviceapi.CodeRefused {
		t.Fatalf("user data before login: %d %+v", st, e)
	}
	code := a.login(a.a)
	s := a.jscode(a.a.AppID, a.a.Secret, code)
	if s.ErrCode != 0 || s.OpenID == "" || s.UnionID == "" || len(s.SessionKey) != 24 {
		t.Fatalf("jscode2session: %+v", s)
	}
	// Silent afterwards, like wx.login.
	var c deviceapi.AppCode
	if st := a.device(deviceapi.PathAppCode, deviceapi.AppCodeRequest{AppID: a.a.AppID}, &c); st != 200 || c.Code == "" {
		t.Fatalf("second code: %d %+v", st, c)
	}
	s2 := a.jscode(a.a.AppID, a.a.Secret, c.Code)
	if s2.OpenID != s.OpenID || s2.SessionKey == s.SessionKey {
		t.Fatalf("second login: openid %q (want %q), session_key replaced: %v", s2.OpenID, s.OpenID, s2.SessionKey != s.SessionKey)
	}

	// User data, decrypted and checked as a relying party's server does it.
	var data deviceapi.AppData
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID}, &data); st != 200 {
		t.Fatalf("app data: %d %+v", st, data)
	}
	plain := rpDecrypt(t, s2.SessionKey, data.EncryptedData, data.IV)
	if !rpSignatureOK(data.RawData, s2.SessionKey, data.Signature) {
		t.Fatal("signature does not check")
	}
	if rpSignatureOK(data.RawData, s.SessionKey, data.Signature) {
		t.Fatal("the replaced session_key still checks the signature")
	}
	var info struct {
		OpenID    string `json:"openId"`
		NickName  string `json:"nickName"`
		UnionID   string `json:"unionId"`
		Watermark struct {
			AppID     string `json:"appid"`
			Timestamp int64  `json:"timestamp"`
		} `json:"watermark"`
	}
	if err := json.Unmarshal(plain, &info); err != nil {
		t.Fatalf("plaintext %q: %v", plain, err)
	}
	if info.OpenID != s.OpenID || info.NickName != "Alice" || info.UnionID != s.UnionID || info.Watermark.AppID != a.a.AppID ||
		info.Watermark.Timestamp != a.clock().Unix() {
		t.Fatalf("decrypted %+v", info)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(data.RawData), &raw); err != nil || raw["nickName"] != "Alice" {
		t.Fatalf("rawData %s", data.RawData)
	}

	// The phone number: never without its own consent.
	var pneed deviceapi.AppConsentNeeded
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID, Phone: true}, &pneed); st != 403 || !pneed.Phone || pneed.ErrCode != deviceapi.CodeConsent {
		t.Fatalf("phone without consent: %d %+v", st, pneed)
	}
	data = deviceapi.AppData{}
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID, Phone: true, ConsentPhone: true}, &data); st != 200 || data.Phone == nil {
		t.Fatalf("phone with consent: %d %+v", st, data)
	}
	var ph struct {
		Phone       string `json:"phoneNumber"`
		Pure        string `json:"purePhoneNumber"`
		CountryCode string `json:"countryCode"`
		Watermark   struct {
			AppID string `json:"appid"`
		} `json:"watermark"`
	}
	json.Unmarshal(rpDecrypt(t, s2.SessionKey, data.Phone.EncryptedData, data.Phone.IV), &ph)
	if ph.Pure != "13580006666" || ph.CountryCode != "86" || ph.Watermark.AppID != a.a.AppID {
		t.Fatalf("phone %+v", ph)
	}
	// Forget: the next login asks again, and the phone consent went too.
	if resp := a.do("DELETE", deviceapi.PathAppConsents+"/"+a.a.AppID, http.Header{"Authorization": {"Bearer " + a.cred}}, nil, nil); resp.StatusCode != 200 {
		t.Fatalf("forget: %d", resp.StatusCode)
	}
	need = deviceapi.AppConsentNeeded{}
	if st := a.device(deviceapi.PathAppCode, deviceapi.AppCodeRequest{AppID: a.a.AppID}, &need); st != 403 || need.ErrCode != deviceapi.CodeConsent {
		t.Fatalf("after forget: %d %+v", st, need)
	}
	a.jscode(a.a.AppID, a.a.Secret, a.login(a.a))
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID, Phone: true}, &pneed); st != 403 {
		t.Fatalf("phone consent survived forget: %d", st)
	}
}

// rpDecrypt is a relying party's own decryption of WeChat's encryptedData
// (AES-128-CBC, PKCS#7, key and iv base64), independent of the backend's.
func rpDecrypt(t *testing.T, sessionKey, encrypted, iv string) []byte {
	t.Helper()
	key, err1 := base64.StdEncoding.DecodeString(sessionKey)
	ct, err2 := base64.StdEncoding.DecodeString(encrypted)
	ivb, err3 := base64.StdEncoding.DecodeString(iv)
	if err1 != nil || err2 != nil || err3 != nil || len(key) != 16 || len(ivb) != 16 || len(ct)%16 != 0 || len(ct) == 0 {
		t.Fatalf("bad encrypted data: key %d bytes, iv %d, data %d", len(key), len(ivb), len(ct))
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, ivb).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > 16 || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		t.Fatal("bad PKCS#7 padding")
	}
	return out[:len(out)-pad]
}

// rpSignatureOK checks signature = sha1(rawData + session_key), hex.
func rpSignatureOK(rawData, sessionKey, signature string) bool {
	sum := sha1.Sum([]byte(rawData + sessionKey))
	return hex.EncodeToString(sum[:]) == signature
}

func TestJSCodeRefused(t *testing.T) {
	logs := &system.SyncBuffer{}
	a := newAppEnv(t, func(c *server.Config) {
		c.JSCodePerMinute = 3
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	for _, tt := range []struct {
		name          string
		appid, secret string
		code          func() string
		want          int
	}{
		{"unknown appid", "wxnope", "x", func() string { return a.login(a.a) }, 40013},
		{"app B's secret for app A's code", a.a.AppID, a.b.Secret, func() string { return a.login(a.a) }, 40125},
		{"app A's code at app B", a.b.AppID, a.b.Secret, func() string { return a.login(a.a) }, 40029},
		{"a web code", a.a.AppID, a.a.Secret, func() string {
			return a.env.code(a.cred, a.a)
		}, 40029},
		{"garbage", a.a.AppID, a.a.Secret, func() string { return "nope" }, 40029},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s := a.jscode(tt.appid, tt.secret, tt.code()); s.ErrCode != tt.want || s.SessionKey != "" {
				t.Fatalf("%+v, want errcode %d", s, tt.want)
			}
		})
	}
	t.Run("reuse", func(t *testing.T) {
		code := a.login(a.a)
		if s := a.jscode(a.a.AppID, a.a.Secret, code); s.ErrCode != 0 {
			t.Fatal(s)
		}
		if s := a.jscode(a.a.AppID, a.a.Secret, code); s.ErrCode != 40163 {
			t.Fatalf("reuse: %+v", s)
		}
	})
	t.Run("jscode at the web token endpoints", func(t *testing.T) {
		code := a.login(a.a)
		if tr := a.exchange(a.a, code); tr.ErrCode != 40029 {
			t.Fatalf("/sns/oauth2/access_token: %+v", tr)
		}
		var oe oauthErr
		a.postForm("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {a.a.AppID},
			"client_secret": {a.a.Secret}, "redirect_uri": {""}}, &oe)
		if oe.Error != "invalid_grant" {
			t.Fatalf("/oauth2/token: %+v", oe)
		}
		if s := a.jscode(a.a.AppID, a.a.Secret, code); s.ErrCode != 0 {
			t.Fatalf("the refused tries spent the code: %+v", s)
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		var last session
		for range 4 {
			last = a.jscode(a.b.AppID, a.b.Secret, a.login(a.b))
		}
		if last.ErrCode != 45011 {
			t.Fatalf("4th in a minute: %+v", last)
		}
	})
	t.Run("no secrets in the database files in clear", func(t *testing.T) {
		code := a.login(a.a)
		s := a.jscode(a.a.AppID, a.a.Secret, code)
		a.store.Close() // checkpoint the WAL into the file
		for _, needle := range []string{s.SessionKey, code, "13580006666", a.a.Secret} {
			if strings.Contains(logs.String(), needle) {
				t.Fatalf("%q in the server's log", needle)
			}
			for _, f := range []string{a.dbPath, a.dbPath + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				if bytes.Contains(b, []byte(needle)) {
					t.Fatalf("%q in the clear in %s", needle, filepath.Base(f))
				}
			}
		}
	})
}
