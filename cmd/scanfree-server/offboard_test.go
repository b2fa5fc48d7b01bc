package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/internal/deviceapi"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// enrol enrols a desktop for username through the device flow approved
// with the CLI, and returns its credential.
func (b *backend) enrol(username string) string {
	b.t.Helper()
	_, body := b.post(nil, "/oauth2/device_authorization", "application/x-www-form-urlencoded", "client_id=scanfree-desktop&device_name=laptop&os=linux", nil)
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	json.Unmarshal(body, &da)
	b.cli("", "device", "approve", "--user", username, "--code", da.UserCode)
	_, body = b.post(nil, "/oauth2/token", "application/x-www-form-urlencoded",
		"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id=scanfree-desktop&device_code="+da.DeviceCode, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &tok)
	if tok.AccessToken == "" {
		b.t.Fatalf("enrol %s: %s", username, body)
	}
	return tok.AccessToken
}

// TestOffboarding: an operator disables a person from the CLI while the
// server runs; at once her desktop's calls are refused, her tokens stop
// working, her web session ends, her password and a new enrolment are
// refused, and the log says who did it. Enabled again, she signs in with
// her password; what was revoked stays revoked.
func TestOffboarding(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	var app struct{ AppID, Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "create", "--name", "Demo Shop", "--redirect-uri", "http://shop.localhost:8081/callback", "--json")), &app)
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	b.cli("bob-password\n", "user", "create", "--username", "bob", "--nickname", "Bob", "--password-stdin")
	cred := b.enrol("alice")
	authorize := func() int {
		status, _ := b.post(nil, "/api/v1/device/authorize", "application/json",
			`{"appid":"`+app.AppID+`","scope":"snsapi_login","redirect_uri":"http://shop.localhost:8081/callback","state":"s"}`,
			http.Header{"Authorization": {"Bearer " + cred}})
		return status
	}
	_, body := b.post(nil, "/api/v1/device/authorize", "application/json",
		`{"appid":"`+app.AppID+`","scope":"snsapi_login","redirect_uri":"http://shop.localhost:8081/callback","state":"s"}`,
		http.Header{"Authorization": {"Bearer " + cred}})
	var ar struct {
		RedirectURL string `json:"redirect_url"`
	}
	json.Unmarshal(body, &ar)
	u, _ := url.Parse(ar.RedirectURL)
	tok, _, err := system.Exchange(context.Background(), nil, b.url, app.AppID, app.Secret, u.Query().Get("code"))
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("exchange: %+v %v", tok, err)
	}
	userinfo := func() int {
		var ui struct {
			ErrCode int `json:"errcode"`
		}
		b.getJSON("/sns/userinfo?"+url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}}.Encode(), &ui)
		return ui.ErrCode
	}
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func() (int, string) {
		status, body := b.post(web, "/login", "application/x-www-form-urlencoded", "username=alice&password=alice-password",
			http.Header{"Sec-Fetch-Site": {"same-origin"}})
		return status, string(body)
	}
	if status, _ := login(); status != http.StatusSeeOther {
		t.Fatalf("login before: %d", status)
	}
	account := func() int { return b.status(web, "/account", nil) }
	if authorize() != 200 || userinfo() != 0 || account() != 200 {
		t.Fatal("alice is not signed in everywhere before the test")
	}

	if out := b.cli("", "user", "disable", "alice"); !strings.Contains(out, "alice is disabled") {
		t.Fatalf("user disable: %s", out)
	}
	if status := authorize(); status != http.StatusUnauthorized {
		t.Errorf("her desktop after disabling: %d, want 401", status)
	}
	if code := userinfo(); code == 0 {
		t.Error("her access token works after disabling")
	}
	if status := account(); status != http.StatusSeeOther {
		t.Errorf("her web session after disabling: %d, want a redirect to the sign-in", status)
	}
	if status, body := login(); status != http.StatusForbidden || !strings.Contains(body, "disabled by an administrator") {
		t.Errorf("her password after disabling: %d", status)
	}
	_, body = b.post(nil, "/oauth2/device_authorization", "application/x-www-form-urlencoded", "client_id=scanfree-desktop&device_name=laptop2&os=linux", nil)
	var da struct {
		UserCode string `json:"user_code"`
	}
	json.Unmarshal(body, &da)
	if _, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, "device", "approve", "--user", "alice", "--code", da.UserCode, "--db", b.db); err == nil ||
		!strings.Contains(errOut, "user enable alice") {
		t.Errorf("approving a new desktop for her: %v %s", err, errOut)
	}
	var events []struct{ Kind, Detail string }
	json.Unmarshal([]byte(b.cli("", "events", "--user", "alice", "--kind", "user_disabled", "--json")), &events)
	if len(events) != 1 || !strings.Contains(events[0].Detail, "scanfree-server CLI") {
		t.Errorf("the log of the disabling: %+v", events)
	}

	b.cli("", "user", "enable", "alice")
	if status, _ := login(); status != http.StatusSeeOther {
		t.Errorf("her password after enabling: %d", status)
	}
	if status := authorize(); status != http.StatusUnauthorized {
		t.Errorf("her revoked desktop after enabling: %d, want still 401", status)
	}

	b.cli("", "user", "role", "bob", "auditor")
	var users []struct{ Username, Role string }
	json.Unmarshal([]byte(b.cli("", "user", "list", "--json")), &users)
	for _, u := range users {
		if u.Username == "bob" && u.Role != "auditor" {
			t.Errorf("bob's role: %q", u.Role)
		}
	}
	if _, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, "user", "role", "bob", "superuser", "--db", b.db); err == nil ||
		!strings.Contains(errOut, "use admin, auditor or none") {
		t.Errorf("an unknown role: %v %s", err, errOut)
	}
}

// TestResetPassword: an operator's new password works, the old one does not,
// and whatever the old one opened (a desktop, a web session) is gone with
// it; a short password or an unknown person is refused and changes nothing.
func TestResetPassword(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	cred := b.enrol("alice")
	profile := func() int { return b.status(nil, deviceapi.PathMe, http.Header{"Authorization": {"Bearer " + cred}}) }
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: noFollow}
	login := func(c *http.Client, pw string) int {
		status, _ := b.post(c, "/login", "application/x-www-form-urlencoded", "username=alice&password="+pw,
			http.Header{"Sec-Fetch-Site": {"same-origin"}})
		return status
	}
	account := func() int { return b.status(web, "/account", nil) }
	if login(web, "alice-password") != http.StatusSeeOther || account() != http.StatusOK {
		t.Fatal("alice cannot sign in before the test")
	}

	for _, tc := range []struct{ name, user, pw, want string }{
		{"too short", "alice", "short\n", "at least 8 characters"},
		{"unknown person", "mallory", "mallory-password\n", "mallory"},
	} {
		if _, errOut, err := testutil.Run(context.Background(), nil, tc.pw, b.bin, "user", "reset-password", tc.user, "--password-stdin", "--db", b.db); err == nil ||
			!strings.Contains(errOut, tc.want) {
			t.Errorf("%s: %v %s", tc.name, err, errOut)
		}
	}
	if account() != http.StatusOK || profile() != http.StatusOK {
		t.Fatal("a refused reset signed alice out")
	}

	if out := b.cli("alice-new-password\n", "user", "reset-password", "alice", "--password-stdin"); !strings.Contains(out, "alice has a new password") {
		t.Fatalf("user reset-password: %s", out)
	}
	if status := profile(); status != http.StatusUnauthorized {
		t.Errorf("her desktop after the reset: %d, want 401", status)
	}
	if status := account(); status != http.StatusSeeOther {
		t.Errorf("her web session after the reset: %d, want a redirect to the sign-in", status)
	}
	if status := login(&http.Client{CheckRedirect: noFollow}, "alice-password"); status == http.StatusSeeOther {
		t.Error("the old password still signs in")
	}
	if status := login(&http.Client{CheckRedirect: noFollow}, "alice-new-password"); status != http.StatusSeeOther {
		t.Errorf("the new password: %d", status)
	}
	var events []struct{ Kind, Detail string }
	json.Unmarshal([]byte(b.cli("", "events", "--user", "alice", "--kind", "password_reset", "--json")), &events)
	if len(events) != 1 || !strings.Contains(events[0].Detail, "scanfree-server CLI") {
		t.Errorf("the log of the reset: %+v", events)
	}
}

// status GETs path with c (a plain client when nil) and header, and
// answers the status code.
func (b *backend) status(c *http.Client, path string, header http.Header) int {
	b.t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequest("GET", b.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header = header
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDeleteCommands: `user delete` and `app delete` refuse without --yes
// and change nothing; with it the person or app is gone while the server
// runs, her desktop and the app's tokens stop, and the log keeps both.
func TestDeleteCommands(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	var app struct{ AppID, Secret string }
	json.Unmarshal([]byte(b.cli("", "app", "create", "--name", "Demo Shop", "--redirect-uri", "http://shop.localhost:8081/callback", "--json")), &app)
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	cred := b.enrol("alice")
	for _, args := range [][]string{{"user", "delete", "alice"}, {"app", "delete", app.AppID}} {
		_, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, append(args, "--db", b.db)...)
		if err == nil || !strings.Contains(errOut, "cannot be undone; pass --yes") {
			t.Fatalf("%v without --yes: %v %s", args, err, errOut)
		}
	}
	if out := b.cli("", "user", "list"); !strings.Contains(out, "alice") {
		t.Fatalf("alice went without --yes: %s", out)
	}
	me := func() int {
		return b.status(nil, "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + cred}})
	}
	if status := me(); status != http.StatusOK {
		t.Fatalf("her desktop before: %d", status)
	}
	if out := b.cli("", "user", "delete", "alice", "--yes"); !strings.Contains(out, "alice is deleted") {
		t.Fatalf("user delete: %s", out)
	}
	if status := me(); status != http.StatusUnauthorized {
		t.Errorf("her desktop after deleting her: %d", status)
	}
	if out := b.cli("", "app", "delete", app.AppID, "--yes"); !strings.Contains(out, app.AppID+" is deleted") {
		t.Fatalf("app delete: %s", out)
	}
	if out := b.cli("", "app", "list"); strings.Contains(out, app.AppID) {
		t.Fatalf("the app is still listed: %s", out)
	}
	var events []struct{ Kind, Detail string }
	json.Unmarshal([]byte(b.cli("", "events", "--json", "--limit", "100")), &events)
	kinds := map[string]bool{}
	for _, e := range events {
		kinds[e.Kind] = true
	}
	for _, k := range []string{"user_deleted", "app_deleted", "device_enrolled", "user_created", "app_created"} {
		if !kinds[k] {
			t.Errorf("no %s event after the deletes: %+v", k, events)
		}
	}
}

// TestSessionCommands: `session list` shows a person's desktop and web
// session; `session revoke` ends one while the server runs, and an id she
// does not have is refused with the command that lists hers.
func TestSessionCommands(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	cred := b.enrol("alice")
	var ses []struct{ ID, Kind, What string }
	if err := json.Unmarshal([]byte(b.cli("", "session", "list", "alice", "--json")), &ses); err != nil || len(ses) != 1 || ses[0].Kind != "desktop" {
		t.Fatalf("session list: %+v %v", ses, err)
	}
	if out := b.cli("", "session", "revoke", "alice", ses[0].ID); !strings.Contains(out, "ended") {
		t.Fatalf("session revoke: %s", out)
	}
	if status := b.status(nil, "/api/v1/device/me", http.Header{"Authorization": {"Bearer " + cred}}); status != http.StatusUnauthorized {
		t.Fatalf("her desktop after session revoke: %d", status)
	}
	_, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, "session", "revoke", "alice", "web:nope", "--db", b.db)
	if err == nil || !strings.Contains(errOut, "session list alice") {
		t.Fatalf("an unknown session: %v %s", err, errOut)
	}
}

// TestEventsFilters: `events` takes the console's filters: wrong passwords
// from one address range, as a table, as CSV, and paged with --before; a
// bad filter says what it wants.
func TestEventsFilters(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	for _, pw := range []string{"wrong-1", "wrong-2", "alice-password"} {
		b.post(nil, "/login", "application/x-www-form-urlencoded", "username=alice&password="+pw, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	}
	var refused []struct{ Result, Reason, Addr, Method, Cursor string }
	json.Unmarshal([]byte(b.cli("", "events", "--user", "alice", "--result", "refused", "--addr", "127.0.0.0/8", "--since", "1h", "--json")), &refused)
	if len(refused) != 2 || refused[0].Reason != "wrong_password" || refused[0].Addr != "127.0.0.1" || refused[0].Method != "password" {
		t.Fatalf("refused sign-ins: %+v", refused)
	}
	if out := b.cli("", "events", "--result", "refused", "--addr", "192.0.2.0/24", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("another range: %s", out)
	}
	page := b.cli("", "events", "--user", "alice", "--result", "refused", "--limit", "1")
	if !strings.Contains(page, "more: --before "+refused[0].Cursor) {
		t.Fatalf("a full page does not say how to go on: %s", page)
	}
	var rest []struct{ Cursor string }
	json.Unmarshal([]byte(b.cli("", "events", "--user", "alice", "--result", "refused", "--before", refused[0].Cursor, "--json")), &rest)
	if len(rest) != 1 || rest[0].Cursor != refused[1].Cursor {
		t.Fatalf("the next page: %+v", rest)
	}
	if out := b.cli("", "events", "--method", "password", "--csv"); !strings.HasPrefix(out, "id,at,kind,user") || strings.Count(out, "\n") != 4 {
		t.Fatalf("csv: %s", out)
	}
	_, errOut, err := testutil.Run(context.Background(), nil, "", b.bin, "events", "--addr", "nope", "--db", b.db)
	if err == nil || !strings.Contains(errOut, "CIDR range") {
		t.Fatalf("a bad --addr: %v %s", err, errOut)
	}
}

// TestApply: `apply -f` with --dry-run says what it would change and
// changes nothing; applied, the app (with its secret from the
// environment, never the file), the people, their roles and the fence are
// there (with its device policy); applied again it changes nothing; a
// typo in a key, or a bad min_os, changes nothing and names the key; a
// file without the policy lifts it. A person made by apply has no password.
func TestApply(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	cfg := filepath.Join(t.TempDir(), "scanfree.yaml")
	write := func(s string) { os.WriteFile(cfg, []byte(s), 0o600) }
	write(`
apps:
  - name: Forum
    redirect_uris: [https://forum.example/cb]
    allow_cidrs: [10.0.0.0/8]
    require_key: tpm
    require_disk_encryption: true
    min_os: linux:6.1,windows:10.0.19045
    secret_env: FORUM_SECRET
people:
  - username: ops
    nickname: Ops
    role: admin
  - username: carol
    nickname: Carol
`)
	env := []string{"FORUM_SECRET=forum-secret-forum-secret"}
	run := func(args ...string) string { // the table's columns as single spaces
		t.Helper()
		out, errOut, err := testutil.Run(context.Background(), env, "", b.bin, append(args, "--db", b.db)...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, errOut)
		}
		var lines []string
		for l := range strings.Lines(out) {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, "\n")
	}
	if out := run("apply", "-f", cfg, "--dry-run"); !strings.Contains(out, "create app Forum") || !strings.Contains(out, "set role ops admin") || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: %s", out)
	}
	if out := run("app", "list"); strings.Contains(out, "Forum") {
		t.Fatalf("the dry run changed something: %s", out)
	}
	run("apply", "-f", cfg)
	if out := run("apply", "-f", cfg); !strings.Contains(out, "nothing to change") {
		t.Fatalf("applied twice: %s", out)
	}
	var apps []struct {
		AppID string `json:"appid"`
		Name  string `json:"name"`
	}
	json.Unmarshal([]byte(run("app", "list", "--json")), &apps)
	if len(apps) != 1 || apps[0].Name != "Forum" {
		t.Fatalf("apps: %+v", apps)
	}
	// The secret from the environment is the app's: a code no one issued
	// is refused as a bad code, not a bad client.
	var ans struct{ ErrCode int }
	b.getJSON("/sns/oauth2/access_token?appid="+apps[0].AppID+"&secret=forum-secret-forum-secret&code=nope&grant_type=authorization_code", &ans)
	if ans.ErrCode != 40029 {
		t.Fatalf("the applied secret: errcode %d", ans.ErrCode)
	}
	var users []struct{ Username, Role string }
	json.Unmarshal([]byte(run("user", "list", "--json")), &users)
	if fmt.Sprint(users) != "[{carol } {ops admin}]" {
		t.Fatalf("people: %+v", users)
	}
	if status, _ := b.post(nil, "/login", "application/x-www-form-urlencoded", "username=carol&password=", http.Header{"Sec-Fetch-Site": {"same-origin"}}); status != http.StatusUnauthorized {
		t.Fatalf("a person made by apply signed in without a password: %d", status)
	}

	write("apps:\n  - name: Forum\n    redirect_uri: [https://x.example/cb]\n")
	_, errOut, err := testutil.Run(context.Background(), env, "", b.bin, "apply", "-f", cfg, "--db", b.db)
	if err == nil || !strings.Contains(errOut, "redirect_uri") {
		t.Fatalf("a typo: %v %s", err, errOut)
	}
	write("apps:\n  - name: Forum\n    redirect_uris: [https://forum.example/cb]\n    min_os: linux6.1\n")
	if _, errOut, err := testutil.Run(context.Background(), env, "", b.bin, "apply", "-f", cfg, "--db", b.db); err == nil || !strings.Contains(errOut, "min_os") {
		t.Fatalf("a bad min_os: %v %s", err, errOut)
	}
	write("apps:\n  - name: Forum\n    redirect_uris: [https://forum.example/cb, https://forum.example/cb2]\n    secret_env: FORUM_SECRET\npeople:\n  - username: carol\n    nickname: Carol C\n    role: auditor\n")
	if out := run("apply", "-f", cfg); !strings.Contains(out, "update app Forum redirect_uris") || !strings.Contains(out, "allow_cidrs [10.0.0.0/8] -> []") ||
		!strings.Contains(out, "require_key tpm -> ;") || !strings.Contains(out, "require_disk_encryption true -> false") ||
		!strings.Contains(out, "min_os map[linux:6.1 windows:10.0.19045] -> map[]") ||
		!strings.Contains(out, "update user carol") || !strings.Contains(out, "set role carol none -> auditor") {
		t.Fatalf("a second configuration: %s", out)
	}
}

// TestResetLinkCommand: `user reset-password --link` prints a one-time
// link on the server's public URL with which she sets a password.
func TestResetLinkCommand(t *testing.T) {
	b := startBackend(t, filepath.Join(t.TempDir(), "scanfree.db"))
	b.cli("alice-password\n", "user", "create", "--username", "alice", "--nickname", "Alice", "--password-stdin")
	var out struct{ Link string }
	json.Unmarshal([]byte(b.cli("", "user", "reset-password", "alice", "--link", "--public-url", b.url, "--json")), &out)
	if !strings.HasPrefix(out.Link, b.url+"/reset/") {
		t.Fatalf("link: %q", out.Link)
	}
	path := strings.TrimPrefix(out.Link, b.url)
	if status, body := b.post(nil, path, "application/x-www-form-urlencoded", "password=brand-new-pass&again=brand-new-pass",
		http.Header{"Sec-Fetch-Site": {"same-origin"}}); status != http.StatusOK || !strings.Contains(string(body), "Password set") {
		t.Fatalf("using the link: %d %s", status, body)
	}
	if status, body := b.post(nil, "/login", "application/x-www-form-urlencoded", "username=alice&password=brand-new-pass",
		http.Header{"Sec-Fetch-Site": {"same-origin"}}); status != http.StatusOK || strings.Contains(string(body), "Wrong username") {
		t.Fatalf("the new password: %d %s", status, body)
	}
}
