package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/dpop"
)

// desktop is a client of the device API that proves a key, as scanfreed
// does, and can be made to misbehave.
type desktop struct {
	e     *env
	key   *dpop.Key
	cred  string
	nonce string
}

// answer is one response of the device API.
type answer struct {
	status int
	auth   string // WWW-Authenticate
	body   string
}

// send sends method path to base with the Authorization header auth and
// the proofs given, keeping the nonce the server hands out.
func (d *desktop) send(base, method, path, auth string, proofs ...string) answer {
	d.e.t.Helper()
	return d.sendBody(base, method, path, auth, nil, proofs...)
}

// sendBody is send with a JSON body (nil: none).
func (d *desktop) sendBody(base, method, path, auth string, body any, proofs ...string) answer {
	d.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		req.Header.Add(dpop.Header, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if n := resp.Header.Get(dpop.NonceHeader); n != "" {
		d.nonce = n
	}
	return answer{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)}
}

// proof signs a proof with key for method and the server's public URL +
// path, for token ("" for none), dated at.
func (d *desktop) proof(key *dpop.Key, method, path, token string, at time.Time) string {
	d.e.t.Helper()
	p, err := key.Proof(method, d.e.url+path, token, d.nonce, at)
	if err != nil {
		d.e.t.Fatal(err)
	}
	return p
}

// me calls GET /me as the desktop does, signing again once when asked to
// use a nonce.
func (d *desktop) me() answer {
	d.e.t.Helper()
	return d.call("GET", deviceapi.PathMe, nil)
}

// call calls the device API as the desktop does: its credential with a
// proof by its key, signed again once when asked to use a nonce.
func (d *desktop) call(method, path string, body any) answer {
	d.e.t.Helper()
	a := d.sendBody(d.e.url, method, path, "DPoP "+d.cred, body, d.proof(d.key, method, path, d.cred, d.e.clock()))
	if a.status == http.StatusUnauthorized && strings.Contains(a.auth, "use_dpop_nonce") {
		a = d.sendBody(d.e.url, method, path, "DPoP "+d.cred, body, d.proof(d.key, method, path, d.cred, d.e.clock()))
	}
	return a
}

// enrolWithKey enrols a desktop of username that proves a fresh key.
func enrolWithKey(e *env, username string) *desktop {
	e.t.Helper()
	key, err := dpop.NewKey()
	if err != nil {
		e.t.Fatal(err)
	}
	return enrolWith(e, username, key)
}

// enrolWith enrols a desktop of username that proves key.
func enrolWith(e *env, username string, key *dpop.Key) *desktop {
	e.t.Helper()
	d := &desktop{e: e, key: key}
	da := e.startDeviceFlow()
	if _, err := admin.ApproveDevice(context.Background(), e.store, username, da.UserCode, e.clock()); err != nil {
		e.t.Fatal(err)
	}
	poll := func() (deviceapi.DeviceToken, oauthErr, string) {
		form := url.Values{"grant_type": {deviceapi.GrantTypeDeviceCode}, "client_id": {deviceapi.ClientID}, "device_code": {da.DeviceCode}}
		var raw json.RawMessage
		resp := e.do("POST", deviceapi.PathToken, http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			dpop.Header: {d.proof(key, "POST", deviceapi.PathToken, "", e.clock())}}, strings.NewReader(form.Encode()), &raw)
		d.nonce = resp.Header.Get(dpop.NonceHeader)
		var tok deviceapi.DeviceToken
		var oe oauthErr
		json.Unmarshal(raw, &tok)
		json.Unmarshal(raw, &oe)
		return tok, oe, d.nonce
	}
	// The first poll has no nonce yet: the answer gives one.
	if tok, oe, nonce := poll(); tok.AccessToken != "" || oe.Error != "use_dpop_nonce" || nonce == "" {
		e.t.Fatalf("token request without a nonce: %+v %+v nonce %q; want use_dpop_nonce and a nonce", tok, oe, nonce)
	}
	tok, oe, _ := poll()
	if tok.AccessToken == "" || tok.TokenType != dpop.Scheme {
		e.t.Fatalf("token request with a proof: %+v %+v; want a DPoP credential", tok, oe)
	}
	d.cred = tok.AccessToken
	dev, err := e.store.GetDevice(context.Background(), tok.DeviceID)
	if err != nil || dev.KeyThumbprint != key.Thumbprint() || dev.KeyProtection != "software" {
		e.t.Fatalf("enrolled device = %+v, %v; want it bound to %s", dev, err, key.Thumbprint())
	}
	return d
}

// TestDPoPAttacks tries what someone holding a bound desktop's credential,
// or one of its proofs, could do; each is refused, and the desktop itself
// keeps working.
func TestDPoPAttacks(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	d := enrolWithKey(e, "alice")
	if a := d.me(); a.status != http.StatusOK {
		t.Fatalf("the desktop's own call: %+v", a)
	}
	// A second replica of the same database: it shares the spent proofs.
	replica, err := server.New(e.store, server.Config{PublicURL: e.url, Now: e.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewServer(replica.Handler())
	defer other.Close()
	thief, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock()
	me := deviceapi.PathMe
	for _, c := range []struct {
		name   string
		base   string
		auth   string
		proofs func() []string
		want   string // in WWW-Authenticate
	}{
		{"the credential as a bearer token", e.url, "Bearer " + d.cred, nil, `error="invalid_token"`},
		{"the DPoP scheme without a proof", e.url, "DPoP " + d.cred, nil, "invalid_dpop_proof"},
		{"a proof replayed at the same replica", e.url, "DPoP " + d.cred, func() []string {
			p := d.proof(d.key, "GET", me, d.cred, now)
			d.send(e.url, "GET", me, "DPoP "+d.cred, p)
			return []string{p}
		}, "replayed"},
		{"a proof replayed at another replica", other.URL, "DPoP " + d.cred, func() []string {
			p := d.proof(d.key, "GET", me, d.cred, now)
			d.send(e.url, "GET", me, "DPoP "+d.cred, p)
			return []string{p}
		}, "replayed"},
		{"a proof for another URL", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(d.key, "GET", deviceapi.PathWatch, d.cred, now)}
		}, "another URL"},
		{"a proof for another method", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(d.key, "POST", me, d.cred, now)}
		}, "not GET"},
		{"a stale proof", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(d.key, "GET", me, d.cred, now.Add(-3*time.Minute))}
		}, "stale"},
		{"a proof without ath", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(d.key, "GET", me, "", now)}
		}, "invalid_dpop_proof"},
		{"a proof for another token", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(d.key, "GET", me, "another-credential", now)}
		}, "ath does not match"},
		{"a proof signed by another key", e.url, "DPoP " + d.cred, func() []string {
			return []string{d.proof(thief, "GET", me, d.cred, now)}
		}, "not bound to"},
		{"the other key's proof with the credential as a bearer token", e.url, "Bearer " + d.cred, func() []string {
			return []string{d.proof(thief, "GET", me, d.cred, now)}
		}, `error="invalid_token"`},
		{"a made-up nonce", e.url, "DPoP " + d.cred, func() []string {
			k := *d
			k.nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			return []string{k.proof(d.key, "GET", me, d.cred, now)}
		}, "use_dpop_nonce"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var proofs []string
			if c.proofs != nil {
				proofs = c.proofs()
			}
			a := d.send(c.base, "GET", me, c.auth, proofs...)
			if a.status != http.StatusUnauthorized || !strings.Contains(a.auth+a.body, c.want) {
				t.Fatalf("answer %d %s %s; want 401 with %q", a.status, a.auth, a.body, c.want)
			}
			if a := d.me(); a.status != http.StatusOK {
				t.Fatalf("the desktop's own call after it: %+v", a)
			}
		})
	}

	// A nonce of two steps ago is stale: the desktop is asked to sign again.
	e.advance(5 * time.Minute)
	a := d.send(e.url, "GET", me, "DPoP "+d.cred, d.proof(d.key, "GET", me, d.cred, e.clock()))
	if a.status != http.StatusUnauthorized || !strings.Contains(a.auth, "use_dpop_nonce") {
		t.Fatalf("a proof with an old nonce: %+v; want use_dpop_nonce", a)
	}
	if a := d.me(); a.status != http.StatusOK {
		t.Fatalf("signing again with the new nonce: %+v", a)
	}
}

// TestDPoPUpgrade: a desktop enrolled with a bearer credential binds it to
// its key at its first proof, and from then on the bearer form is refused;
// a server that requires proofs refuses bearer desktops and enrolments.
func TestDPoPUpgrade(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	cred := e.enrol("alice") // an old daemon: no proof
	key, _ := dpop.NewKey()
	d := &desktop{e: e, key: key, cred: cred}
	if a := d.send(e.url, "GET", deviceapi.PathMe, "Bearer "+cred); a.status != http.StatusOK {
		t.Fatalf("an unbound bearer credential: %+v", a)
	}
	// Her account page says which of her desktops prove a key.
	b := e.browser()
	b.post("/login", url.Values{"username": {"alice"}, "password": {"alice-password"}}, nil)
	if _, body := b.get("/account"); !strings.Contains(body, `data-label="Key">credential only`) {
		t.Errorf("/account of a bearer desktop lacks its key cell: %s", body)
	}
	if a := d.me(); a.status != http.StatusOK {
		t.Fatalf("the first call with a proof: %+v", a)
	}
	if _, body := b.get("/account"); !strings.Contains(body, `data-label="Key">software key`) {
		t.Errorf("/account of a bound desktop lacks its key cell: %s", body)
	}
	devs, _ := e.store.ListDevices(context.Background(), "")
	if len(devs) != 1 || devs[0].KeyThumbprint != key.Thumbprint() {
		t.Fatalf("devices after the first proof: %+v", devs)
	}
	if a := d.send(e.url, "GET", deviceapi.PathMe, "Bearer "+cred); a.status != http.StatusUnauthorized {
		t.Fatalf("the bearer form after binding: %+v; want 401", a)
	}
	thief, _ := dpop.NewKey()
	if a := d.send(e.url, "GET", deviceapi.PathMe, "DPoP "+cred, d.proof(thief, "GET", deviceapi.PathMe, cred, e.clock())); a.status != http.StatusUnauthorized {
		t.Fatalf("another key re-binding the credential: %+v; want 401", a)
	}

	// A strict replica of the same database refuses an unbound desktop
	// even with a proof: binding after the fact is what --require-dpop
	// turns off.
	legacy := &desktop{e: e, key: key, cred: e.enrol("alice")}
	strictReplica, err := server.New(e.store, server.Config{PublicURL: e.url, Now: e.clock, RequireDPoP: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sr := httptest.NewServer(strictReplica.Handler())
	defer sr.Close()
	legacy.send(sr.URL, "GET", deviceapi.PathMe, "Bearer "+legacy.cred) // for a nonce
	for _, a := range []answer{
		legacy.send(sr.URL, "GET", deviceapi.PathMe, "Bearer "+legacy.cred),
		legacy.send(sr.URL, "GET", deviceapi.PathMe, "DPoP "+legacy.cred, legacy.proof(key, "GET", deviceapi.PathMe, legacy.cred, e.clock())),
	} {
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "from enrolment on") {
			t.Fatalf("an unbound desktop at a strict server: %+v; want 401", a)
		}
	}

	strict := newEnvWith(t, func(c *server.Config) { c.RequireDPoP = true })
	strict.user("bob")
	da := strict.startDeviceFlow()
	if _, err := admin.ApproveDevice(context.Background(), strict.store, "bob", da.UserCode, strict.clock()); err != nil {
		t.Fatal(err)
	}
	if tok, oe := strict.pollToken(da.DeviceCode); tok.AccessToken != "" || oe.Error != "invalid_dpop_proof" {
		t.Fatalf("an enrolment without a proof on a strict server: %+v %+v", tok, oe)
	}
	s := enrolWithKey(strict, "bob")
	if a := s.me(); a.status != http.StatusOK {
		t.Fatalf("a proving desktop on a strict server: %+v", a)
	}
}
