// Package idp is the daemon's client of the identity backend: device
// enrolment, the signed-in profile, app metadata and minting codes. It
// caches the profile and app metadata briefly, answers within 2 s when the
// backend is down, and forgets a credential the backend revoked.
package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scanfree/scanfree/daemon/creds"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
	"github.com/scanfree/scanfree/internal/ncryptkey"
	"github.com/scanfree/scanfree/internal/posture"
	"github.com/scanfree/scanfree/internal/tpmkey"
)

// Errors mapped to the local API's errcodes.
var (
	ErrSignedOut   = errors.New("desktop not signed in")        // 10060
	ErrUnreachable = errors.New("identity backend unreachable") // 10063
)

// RefusedError is a backend refusal with its errcode (10057, 10067,
// 10068). Consent is what a 10068 carries for the dialog: the app and
// the account it would sign in as.
type RefusedError struct {
	Code    int
	Msg     string
	Consent *deviceapi.AppConsentNeeded
}

func (e *RefusedError) Error() string { return fmt.Sprintf("backend refused (%d): %s", e.Code, e.Msg) }

// Profile is the signed-in account.
type Profile = deviceapi.Me

// App is the public view of a relying party.
type App = deviceapi.App

// SignInRequest asks the backend to check a sign-in or mint its code.
type SignInRequest = deviceapi.SignInRequest

// Config of a Client.
type Config struct {
	BackendURL string
	// PageOrigins are the origins, besides the backend's own, whose pages
	// the daemon may send the user to (the backend's public origin, when
	// the daemon reaches it at another address).
	PageOrigins []string
	Creds       *creds.Store
	// KeyFile is where the desktop's proof key lives (RFC 9449 DPoP; made
	// there, owner-only, when missing); "" sends bare Bearer credentials.
	KeyFile string
	// TPM is where a new proof key is made: "" uses the TPM at
	// tpmkey.DefaultDevice when there is one (on Windows, the Platform
	// Crypto Provider, package ncryptkey), else software; TPMOff,
	// software; a device path or a simulator address (tpmkey.Open), that
	// TPM or an error.
	TPM string
	// Keychain, when set, holds a new software proof key instead of
	// KeyFile (macOS's login keychain, where the Secure Enclave cannot be
	// used); a key file already there stays in use.
	Keychain   Keychain
	Timeout    time.Duration // per request (2 s)
	ProfileTTL time.Duration // cache (30 s)
	AppTTL     time.Duration // cache (5 min)
	// OnSignedOut is called when the backend rejects the credential.
	OnSignedOut func()
	// OnProfile, if set, is called with every profile fetched from the
	// backend (not with cached ones).
	OnProfile func(Profile)
}

// Client talks to one backend.
type Client struct {
	cfg   Config
	base  *url.URL
	http  *http.Client
	watch *http.Client // the same transport, no client timeout: Watch is held by the backend

	signOutReason string // what the backend said when it refused the credential
	watchNext     int64  // where the next watch reads alerts on from (the backend's Unix ms)

	mu              sync.Mutex
	key             *dpop.Key       // see proofKey
	tpm             *tpmkey.Key     // key's TPM half, when it is in a TPM
	platform        *ncryptkey.Key  // the key in Windows' Platform Crypto Provider, when it is there
	keyErr          error           // why proofKey failed last
	tpmSkipped      error           // why a new key went to software despite a TPM
	keychainSkipped error           // why a new software key went to KeyFile despite Keychain
	posture         *posture.Report // what reportPosture read last
	postureAt       time.Time       // when it last tried to report
	postureErr      error           // why that failed
	nonce           string          // the backend's latest DPoP nonce
	cred            string
	credRead        bool
	profile         *Profile
	profileAt       time.Time
	apps            map[string]cachedApp
}

type cachedApp struct {
	app App
	at  time.Time
	err error
}

// New returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	u, err := ParseBackendURL(cfg.BackendURL)
	if err != nil {
		return nil, err
	}
	if err := simulatorAllowed(cfg.TPM, u); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.ProfileTTL <= 0 {
		cfg.ProfileTTL = 30 * time.Second
	}
	if cfg.AppTTL <= 0 {
		cfg.AppTTL = 5 * time.Minute
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext
	tr.Proxy = nil // the backend is named explicitly; never route the credential through a proxy from the environment
	return &Client{cfg: cfg, base: u, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}, watch: &http.Client{Transport: tr},
		apps: map[string]cachedApp{}}, nil
}

// ParseBackendURL checks a backend URL: http(s) with a host, and plain
// http only on this machine.
func ParseBackendURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("backend URL %q: want http(s)://host[:port]; set backend_url", raw)
	}
	if u.Scheme == "http" && !deviceapi.IsLoopbackHost(u.Hostname()) {
		// The device credential and every sign-in travel to the backend.
		return nil, fmt.Errorf("backend URL %q: plain http is allowed only for a backend on this machine (localhost, *.localhost, 127.0.0.0/8, ::1); use https in backend_url", raw)
	}
	return u, nil
}

// simulatorAllowed refuses a TPM simulator with a backend elsewhere: a
// simulator's key is held by a program anyone with the user's rights can
// read, whatever it claims to be.
func simulatorAllowed(tpm string, backend *url.URL) error {
	if tpmkey.Simulator(tpm) && !deviceapi.IsLoopbackHost(backend.Hostname()) {
		return fmt.Errorf("tpm %q: a TPM simulator is for tests and development, and is taken only with a backend on this machine; unset tpm to use this computer's TPM", tpm)
	}
	return nil
}

// BackendURL is the backend's base URL.
func (c *Client) BackendURL() string { return c.backend().String() }

// backend is the backend's base URL and the other origins of its pages.
func (c *Client) backend() *url.URL {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base
}

// SetBackend points a signed-out client at another backend (raw, its
// pages on pageOrigins too), forgetting what it knew of the old one.
func (c *Client) SetBackend(raw string, pageOrigins []string) error {
	u, err := ParseBackendURL(raw)
	if err != nil {
		return err
	}
	if err := simulatorAllowed(c.cfg.TPM, u); err != nil {
		return err
	}
	if c.SignedIn() {
		return errors.New("this desktop is signed in; sign it out first (`scanfreed logout`)")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.cfg.PageOrigins = u, pageOrigins
	c.profile, c.nonce, c.apps = nil, "", map[string]cachedApp{}
	return nil
}

// credential returns the stored device credential, reading it once.
func (c *Client) credential() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.credRead {
		v, err := c.cfg.Creds.Get()
		if err != nil && !errors.Is(err, creds.ErrNone) {
			return "", err
		}
		c.cred, c.credRead = v, true
	}
	if c.cred == "" {
		return "", ErrSignedOut
	}
	return c.cred, nil
}

// SignedIn reports whether a credential is stored (not whether the backend
// still accepts it).
func (c *Client) SignedIn() bool {
	_, err := c.credential()
	return err == nil
}

// forget drops the credential after the backend refused it.
func (c *Client) forget() {
	c.mu.Lock()
	had := c.cred != ""
	c.cred, c.credRead, c.profile = "", true, nil
	c.mu.Unlock()
	c.cfg.Creds.Delete()
	if had && c.cfg.OnSignedOut != nil {
		c.cfg.OnSignedOut()
	}
}

// SignOutReason is what the backend said when it last refused this
// desktop's credential ("this desktop was signed out: disabled by an
// operator …"), or "".
func (c *Client) SignOutReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signOutReason
}

// Watch waits, up to the backend's hold, for this desktop to be signed
// out or for alerts about its person: it returns ErrSignedOut (and
// OnSignedOut has run) the moment it is signed out, the alerts' texts
// when some came, and nothing when the hold ended without either. Call it
// again at once: it reads on from where the previous answer stopped.
func (c *Client) Watch(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, deviceapi.WatchHold+10*time.Second)
	defer cancel()
	c.mu.Lock()
	path := deviceapi.PathWatch
	if c.watchNext > 0 {
		path += "?since=" + strconv.FormatInt(c.watchNext, 10)
	}
	c.mu.Unlock()
	var a deviceapi.WatchAnswer
	if err := c.doWith(ctx, c.watch, "GET", path, nil, &a); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.watchNext = a.Next
	c.mu.Unlock()
	return a.Alerts, nil
}

// do sends an authenticated request and decodes a 200 answer into out.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	return c.doWith(ctx, c.http, method, path, body, out)
}

func (c *Client) doWith(ctx context.Context, hc *http.Client, method, path string, body, out any) error {
	cred, err := c.credential()
	if err != nil {
		return err
	}
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	p, query, _ := strings.Cut(path, "?")
	u := c.backend().JoinPath(p)
	u.RawQuery = query
	var resp *http.Response
	// A backend that asks for a proof signed with its new nonce gets one,
	// once.
	for try := 0; ; try++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		proved, err := c.prove(req, cred)
		if err != nil {
			return err
		}
		if proved {
			req.Header.Set("Authorization", dpop.Scheme+" "+cred)
		} else {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err = hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		c.keepNonce(resp)
		if try == 0 && resp.StatusCode == http.StatusUnauthorized && proofChallenge(resp) == "nonce" {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			continue
		}
		break
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	b = rb
	var e deviceapi.Error
	switch {
	case resp.StatusCode == http.StatusUnauthorized && proofChallenge(resp) != "":
		json.Unmarshal(b, &e)
		return errProofRefused(e.ErrMsg)
	case resp.StatusCode == http.StatusUnauthorized:
		if json.Unmarshal(b, &e) == nil && e.ErrMsg != "" {
			c.mu.Lock()
			c.signOutReason = e.ErrMsg
			c.mu.Unlock()
		}
		c.forget()
		return ErrSignedOut
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: %s", ErrUnreachable, resp.Status)
	case resp.StatusCode != http.StatusOK:
		if json.Unmarshal(b, &e) == nil && e.ErrCode != 0 {
			re := &RefusedError{Code: e.ErrCode, Msg: e.ErrMsg}
			if e.ErrCode == deviceapi.CodeConsent {
				var need deviceapi.AppConsentNeeded
				if json.Unmarshal(b, &need) == nil && need.App.AppID != "" {
					re.Consent = &need
				}
			}
			return re
		}
		return fmt.Errorf("%w: %s %s: %s", ErrUnreachable, method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%w: bad answer to %s: %v", ErrUnreachable, path, err)
		}
	}
	return nil
}

// Me returns the signed-in profile, cached for ProfileTTL.
func (c *Client) Me(ctx context.Context) (Profile, error) {
	c.mu.Lock()
	if c.profile != nil && time.Since(c.profileAt) < c.cfg.ProfileTTL {
		p := *c.profile
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	c.reportPosture(ctx)
	var p Profile
	if err := c.do(ctx, "GET", deviceapi.PathMe, nil, &p); err != nil {
		return p, err
	}
	c.mu.Lock()
	c.profile, c.profileAt = &p, time.Now()
	c.mu.Unlock()
	if c.cfg.OnProfile != nil {
		c.cfg.OnProfile(p)
	}
	return p, nil
}

// Fresh returns the signed-in profile from the backend, bypassing the
// cache: authorize uses it so that a revoked device or an unreachable
// backend is found before the user is asked anything.
func (c *Client) Fresh(ctx context.Context) (Profile, error) {
	c.mu.Lock()
	c.profile = nil
	c.mu.Unlock()
	return c.Me(ctx)
}

// Cached returns the cached profile, if any, without I/O.
func (c *Client) Cached() (Profile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.profile == nil {
		return Profile{}, false
	}
	return *c.profile, true
}

// App returns an app's public metadata, cached for AppTTL. An unknown
// appid is the backend's *RefusedError (deviceapi.CodeRefused), cached too.
func (c *Client) App(ctx context.Context, appID string) (App, error) {
	c.mu.Lock()
	if ca, ok := c.apps[appID]; ok && time.Since(ca.at) < c.cfg.AppTTL {
		c.mu.Unlock()
		return ca.app, ca.err
	}
	c.mu.Unlock()
	var a App
	err := c.do(ctx, "GET", deviceapi.PathApps+url.PathEscape(appID), nil, &a)
	var re *RefusedError
	if err == nil || errors.As(err, &re) {
		c.mu.Lock()
		if len(c.apps) > 1000 {
			clear(c.apps)
		}
		c.apps[appID] = cachedApp{app: a, at: time.Now(), err: err}
		c.mu.Unlock()
	}
	return a, err
}

// Check asks the backend whether it would mint a code for r (app known
// and allowing scan-free login, redirect_uri registered, scope and state
// valid) and returns the app. The daemon calls it before its dialog,
// which shows the redirect_uri's host. It is never cached.
func (c *Client) Check(ctx context.Context, r SignInRequest) (App, error) {
	var a App
	err := c.do(ctx, "POST", deviceapi.PathCheck, r, &a)
	return a, err
}

// Authorize asks the backend to mint a code and returns the redirect URL.
func (c *Client) Authorize(ctx context.Context, r SignInRequest) (string, error) {
	var out deviceapi.AuthorizeResponse
	if err := c.do(ctx, "POST", deviceapi.PathAuthorize, r, &out); err != nil {
		return "", err
	}
	if !strings.HasPrefix(out.RedirectURL, "http://") && !strings.HasPrefix(out.RedirectURL, "https://") {
		return "", fmt.Errorf("%w: backend answered no redirect_url", ErrUnreachable)
	}
	return out.RedirectURL, nil
}

// Declined tells the backend that the person denied r in the dialog, or
// let it time out (outcome is deviceapi.OutcomeDenied or OutcomeTimeout).
func (c *Client) Declined(ctx context.Context, r SignInRequest, outcome string) error {
	return c.do(ctx, "POST", deviceapi.PathDeclined, deviceapi.Declined{Request: r, Outcome: outcome}, nil)
}

// Logout revokes the device at the backend and forgets the credential.
// The credential is forgotten even when the backend cannot be reached.
func (c *Client) Logout(ctx context.Context) error {
	err := c.do(ctx, "DELETE", deviceapi.PathDevice, nil, nil)
	c.forget()
	c.dropKey()
	if errors.Is(err, ErrSignedOut) {
		return nil
	}
	return err
}

// QR confirms (or cancels) the QR login ticket uuid as this desktop's
// user and returns the app's name.
func (c *Client) QR(ctx context.Context, uuid string, confirm bool) (string, error) {
	action := "cancel"
	if confirm {
		action = "confirm"
	}
	var out deviceapi.QRAnswer
	if err := c.do(ctx, "POST", deviceapi.PathQR+url.PathEscape(uuid)+"/"+action, struct{}{}, &out); err != nil {
		return "", err
	}
	return out.AppName, nil
}

// AppCode asks for a desktop app's login code. A *RefusedError with
// deviceapi.CodeConsent means the person has not allowed the app yet.
func (c *Client) AppCode(ctx context.Context, r deviceapi.AppCodeRequest) (deviceapi.AppCode, error) {
	var out deviceapi.AppCode
	err := c.do(ctx, "POST", deviceapi.PathAppCode, r, &out)
	return out, err
}

// AppData asks for the person's data for a desktop app, encrypted under
// its session_key (the daemon never sees that key).
func (c *Client) AppData(ctx context.Context, r deviceapi.AppDataRequest) (deviceapi.AppData, error) {
	var out deviceapi.AppData
	err := c.do(ctx, "POST", deviceapi.PathAppData, r, &out)
	return out, err
}

// AppSession reports nil while the app's session_key is live.
func (c *Client) AppSession(ctx context.Context, appID string) error {
	return c.do(ctx, "POST", deviceapi.PathAppSession, deviceapi.AppSessionRequest{AppID: appID}, nil)
}

// AppConsents lists the desktop apps the person allowed.
func (c *Client) AppConsents(ctx context.Context) ([]deviceapi.AppConsent, error) {
	var out []deviceapi.AppConsent
	err := c.do(ctx, "GET", deviceapi.PathAppConsents, nil, &out)
	return out, err
}

// ForgetApp withdraws a desktop app's consent.
func (c *Client) ForgetApp(ctx context.Context, appID string) error {
	return c.do(ctx, "DELETE", deviceapi.PathAppConsents+"/"+url.PathEscape(appID), nil, nil)
}
