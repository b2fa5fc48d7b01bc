package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/harness/ldaptest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// TestDirectoryOperated: the connectors come from the config file; an
// operator links an existing account to a directory entry with `user
// link`, and signing in through the directory is then signing in as
// that account; with the directory down the sign-in says so, the
// monitoring /readyz names it (and stays ready: other sign-ins go on),
// and settings that cannot work are refused at start with the fix.
func TestDirectoryOperated(t *testing.T) {
	dir := ldaptest.Start(t)
	tmp := t.TempDir()
	cfg := dir.WriteConfig(tmp)
	frank := dir.AddPerson("frank.d", "Frank in the directory", "frank-dir-pw")
	db := filepath.Join(tmp, "s.db")
	metrics := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	b := startBackendWith(t, db, "", "--config", cfg, "--metrics-addr", metrics)
	b.cli("frank-local-pw\n", "user", "create", "--username", "frank", "--nickname", "Frank", "--password-stdin")
	uuid := dir.EntryUUID(frank)
	b.cli("", "--config", cfg, "user", "link", "frank", "corp", uuid)
	// A subject links once; an id the config file does not have is refused.
	if out, err := b.cliErr("", "--config", cfg, "user", "link", "frank", "corp", uuid); err == nil || !strings.Contains(out, "linked to frank already") {
		t.Fatalf("a second link: %v %s", err, out)
	}
	if out, err := b.cliErr("", "--config", cfg, "user", "link", "frank", "crop", "x"); err == nil || !strings.Contains(out, `no connector "crop"`) {
		t.Fatalf("a misspelt connector: %v %s", err, out)
	}

	login := func(user, pw string) (int, string) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		code, body := b.post(c, "/login", "application/x-www-form-urlencoded",
			url.Values{"connector": {"corp"}, "username": {user}, "password": {pw}, "next": {"/account"}}.Encode(),
			http.Header{"Origin": {b.url}, "Sec-Fetch-Site": {"same-origin"}})
		if code == http.StatusSeeOther {
			resp, err := c.Get(b.url + "/account")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			page, _ := io.ReadAll(resp.Body)
			return code, string(page)
		}
		return code, string(body)
	}
	if code, page := login("frank.d", "frank-dir-pw"); code != http.StatusSeeOther || !strings.Contains(page, "Frank in the directory") {
		t.Fatalf("frank through the directory: %d %.300s", code, page)
	}
	if out := b.cli("", "user", "list"); strings.Count(out, "frank") != 1 {
		t.Fatalf("the link made a second account:\n%s", out)
	}

	dir.Stop()
	if code, page := login("frank.d", "frank-dir-pw"); code != http.StatusServiceUnavailable || !strings.Contains(page, "Corp directory is not answering") {
		t.Fatalf("with the directory down: %d %.300s", code, page)
	}
	resp, err := http.Get("http://" + metrics + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "directory corp not answering") {
		t.Fatalf("/readyz with the directory down: %d %s", resp.StatusCode, body)
	}

	bin := testutil.Build(t, "./cmd/scanfree-server")
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown type", "connectors:\n  - {id: x, type: saml, name: X, config: {}}\n", `type "saml": use ldap, oidc or wechat`},
		{"WeChat over plain http", "connectors:\n  - {id: wx, type: wechat, name: WeChat, config: {app_id: wx1, app_secret_env: HOME, api_url: 'http://api.example.org'}}\n", "want an https:// URL"},
		{"an OIDC provider without its secret", "connectors:\n  - {id: sso, type: oidc, name: SSO, config: {issuer: 'https://sso.example.org', client_id: c}}\n", "client_secret_file"},
		{"misspelt setting", "connectors:\n  - {id: x, type: ldap, name: X, config: {host: 'l:636', user_search: {base_dn: dc=x}, bind_pw_fiel: p}}\n", "bind_pw_fiel"},
		{"plain LDAP over the network", "connectors:\n  - {id: x, type: ldap, name: X, config: {host: 'ldap.example.org:389', insecure_no_tls: true, user_search: {base_dn: dc=x}}}\n", "in the clear"},
		{"two with one id", "connectors:\n  - {id: x, type: ldap, name: X, config: {host: 'l:636', user_search: {base_dn: dc=x}}}\n  - {id: x, type: ldap, name: Y, config: {host: 'm:636', user_search: {base_dn: dc=x}}}\n", "used twice"},
		{"no name", "connectors:\n  - {id: x, type: ldap, config: {host: 'l:636', user_search: {base_dn: dc=x}}}\n", "set id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "config.yaml")
			os.WriteFile(f, []byte(tc.yaml), 0o600)
			_, stderr, err := testutil.Run(context.Background(), nil, "", bin, "serve", "--config", f, "--db", filepath.Join(t.TempDir(), "x.db"),
				"--addr", "127.0.0.1:"+strconv.Itoa(testutil.FreePort(t)))
			if err == nil || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "panic") {
				t.Fatalf("err %v, stderr %q; want a refusal mentioning %q", err, stderr, tc.want)
			}
		})
	}
}
