package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/system"
)

// env is one backend on a real SQLite file behind a real HTTP listener,
// with a clock the test moves.
type env struct {
	t      *testing.T
	store  *sqlite.Store
	srv    *httptest.Server
	server *server.Server
	url    string

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with the server's configuration changed by mod.
func newEnvWith(t *testing.T, mod func(*server.Config)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "scanfree.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, now: time.Now()}
	e.srv = httptest.NewUnstartedServer(nil)
	e.url = "http://" + e.srv.Listener.Addr().String()
	cfg := server.Config{PublicURL: e.url, Now: e.clock, PollTimeout: 300 * time.Millisecond, QRTTL: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	s, err := server.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.server = s
	e.srv.Config.Handler = s.Handler()
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.Close()
		st.Close()
	})
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// app registers an app with the given options.
func (e *env) app(spec admin.AppSpec) admin.NewApp {
	e.t.Helper()
	if spec.Name == "" {
		spec.Name = "Demo Shop"
	}
	if spec.RedirectURIs == nil && spec.Domains == nil {
		spec.RedirectURIs = []string{"http://shop.localhost:8081/callback"}
	}
	na, err := admin.CreateApp(context.Background(), e.store, spec, e.clock())
	if err != nil {
		e.t.Fatal(err)
	}
	return na
}

func (e *env) user(name string) {
	e.t.Helper()
	if _, err := admin.CreateUser(context.Background(), e.store, admin.UserSpec{Username: name,
		Nickname: strings.ToUpper(name[:1]) + name[1:], AvatarURL: "https://avatar.example/" + name, Password: name + "-password"}, e.clock()); err != nil {
		e.t.Fatal(err)
	}
}

// do sends a request and decodes a JSON answer into out (if non-nil).
func (e *env) do(method, path string, header http.Header, body io.Reader, out any) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp
}

func (e *env) getJSON(path string, out any) {
	e.t.Helper()
	e.do("GET", path, nil, nil, out)
}

func (e *env) postForm(path string, form url.Values, out any) *http.Response {
	e.t.Helper()
	return e.do("POST", path, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()), out)
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Interval    int    `json:"interval"`
}

// startDeviceFlow begins an enrolment and returns device_code and user_code.
func (e *env) startDeviceFlow() deviceapi.DeviceAuthorization {
	e.t.Helper()
	var da deviceapi.DeviceAuthorization
	resp := e.postForm("/oauth2/device_authorization", url.Values{"client_id": {deviceapi.ClientID}, "device_name": {"laptop"}, "os": {"linux"}}, &da)
	if resp.StatusCode != 200 || da.DeviceCode == "" {
		e.t.Fatalf("device_authorization: %d %+v", resp.StatusCode, da)
	}
	return da
}

func (e *env) pollToken(deviceCode string) (deviceapi.DeviceToken, oauthErr) {
	e.t.Helper()
	var raw json.RawMessage
	e.postForm("/oauth2/token", url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}, "device_code": {deviceCode}}, &raw)
	var tok deviceapi.DeviceToken
	var oe oauthErr
	json.Unmarshal(raw, &tok)
	json.Unmarshal(raw, &oe)
	return tok, oe
}

// enrol signs a desktop in as username through the device flow.
func (e *env) enrol(username string) string {
	e.t.Helper()
	da := e.startDeviceFlow()
	if _, err := admin.ApproveDevice(context.Background(), e.store, username, da.UserCode, e.clock()); err != nil {
		e.t.Fatal(err)
	}
	tok, oe := e.pollToken(da.DeviceCode)
	if tok.AccessToken == "" {
		e.t.Fatalf("enrol: %+v", oe)
	}
	return tok.AccessToken
}

type apiErr struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// authorize calls the device API's authorize and returns the redirect URL
// or the error.
func (e *env) authorize(cred string, req deviceapi.SignInRequest) (string, apiErr, int) {
	e.t.Helper()
	b, _ := json.Marshal(req)
	var raw json.RawMessage
	resp := e.do("POST", "/api/v1/device/authorize", http.Header{"Authorization": {"Bearer " + cred}, "Content-Type": {"application/json"}},
		strings.NewReader(string(b)), &raw)
	var ok deviceapi.AuthorizeResponse
	var ae apiErr
	json.Unmarshal(raw, &ok)
	json.Unmarshal(raw, &ae)
	return ok.RedirectURL, ae, resp.StatusCode
}

// deviceSignIn is the desktop's sign-in request to app's callback.
func deviceSignIn(app admin.NewApp) deviceapi.SignInRequest {
	return deviceapi.SignInRequest{AppID: app.AppID, Scope: "snsapi_login", RedirectURI: "http://shop.localhost:8081/callback", State: "st"}
}

// code mints a code for app through the device API.
func (e *env) code(cred string, app admin.NewApp) string {
	e.t.Helper()
	redirect, ae, _ := e.authorize(cred, deviceSignIn(app))
	if redirect == "" {
		e.t.Fatalf("authorize: %+v", ae)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Query().Get("code")
}

type tokenResp struct {
	apiErr
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid"`
}

// exchange trades code for app's tokens, with the harness's one
// exchange helper, and returns the whole answer.
func (e *env) exchange(app admin.NewApp, code string) tokenResp {
	e.t.Helper()
	_, b, err := system.Exchange(context.Background(), nil, e.url, app.AppID, app.Secret, code)
	if err != nil {
		e.t.Fatal(err)
	}
	var tr tokenResp
	if err := json.Unmarshal(b, &tr); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// browser is a web client with its own cookie jar, as a person's browser.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// post submits a form as a same-origin browser would.
func (b *browser) post(path string, form url.Values, header http.Header) (*http.Response, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.e.url)
	for k, v := range header {
		req.Header[k] = v
	}
	return b.send(req)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.url+path, nil)
	return b.send(req)
}

func (b *browser) send(req *http.Request) (*http.Response, string) {
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) login(username string) {
	b.e.t.Helper()
	resp, body := b.post("/login", url.Values{"username": {username}, "password": {username + "-password"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: %d %s", username, resp.StatusCode, body)
	}
}
