package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
)

// TestSecretsStoredHashed reads the database files byte by byte after a
// full run and finds none of the secrets the system handed out: app
// secret, password, device credential, code, tokens, session.
func TestSecretsStoredHashed(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	code := e.code(cred, app)
	tok := e.exchange(app, code)
	b := e.browser()
	b.login("alice")
	u, _ := url.Parse(e.url)
	var session string
	for _, c := range b.c.Jar.Cookies(u) {
		session = c.Value
	}
	if tok.AccessToken == "" || session == "" {
		t.Fatal("setup did not produce the secrets")
	}
	if resp := e.do("GET", "/healthz", nil, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatal("server gone")
	}
	var disk []byte
	matches, _ := filepath.Glob(e.store.Path() + "*") // the database, its WAL and shared memory
	for _, f := range matches {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		disk = append(disk, b...)
	}
	if !bytes.Contains(disk, []byte(app.AppID)) || !bytes.Contains(disk, []byte("Alice")) {
		t.Fatal("the appid and nickname, stored in the clear, are not in what was read: wrong files")
	}
	for name, secret := range map[string]string{"app secret": app.Secret, "password": "alice-password", "device credential": cred,
		"code": code, "access token": tok.AccessToken, "refresh token": tok.RefreshToken, "session": session} {
		if bytes.Contains(disk, []byte(secret)) {
			t.Errorf("the %s is stored in the clear", name)
		}
	}
}
