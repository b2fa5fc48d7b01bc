package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
)

// consoleEnv is a backend with an admin (alice), an auditor (carol) and a
// person without a role (bob), each signed in in a browser of her own.
type consoleEnv struct {
	*env
	admin, auditor, person *browser
	app                    admin.NewApp
}

func newConsoleEnv(t *testing.T, mod func(*server.Config)) *consoleEnv {
	e := newEnvWith(t, mod)
	for _, n := range []string{"alice", "bob", "carol"} {
		e.user(n)
	}
	ctx := context.Background()
	for n, role := range map[string]string{"alice": storage.RoleAdmin, "carol": storage.RoleAuditor} {
		if err := admin.SetRole(ctx, e.store, n, role, "the test", e.clock()); err != nil {
			t.Fatal(err)
		}
	}
	c := &consoleEnv{env: e, admin: e.browser(), auditor: e.browser(), person: e.browser(), app: e.app(admin.AppSpec{FastLogin: true})}
	c.admin.login("alice")
	c.auditor.login("carol")
	c.person.login("bob")
	return c
}

// changes are every change the console makes, as form posts.
func (c *consoleEnv) changes() map[string]url.Values {
	return map[string]url.Values{
		"/admin/people":                           {"username": {"dave"}, "nickname": {"Dave"}, "password": {"dave-password"}},
		"/admin/people/bob/disable":               nil,
		"/admin/people/bob/enable":                nil,
		"/admin/people/bob/signout":               nil,
		"/admin/people/bob/unlock":                nil,
		"/admin/people/bob/role":                  {"role": {"admin"}},
		"/admin/people/bob/revoke-app":            {"appid": {c.app.AppID}},
		"/admin/apps":                             {"name": {"Other"}, "redirect_uris": {"https://other.example/cb"}},
		"/admin/apps/" + c.app.AppID + "/edit":    {"name": {"X"}, "redirect_uris": {"https://x.example/cb"}},
		"/admin/apps/" + c.app.AppID + "/rotate":  nil,
		"/admin/apps/" + c.app.AppID + "/disable": nil,
		"/admin/apps/" + c.app.AppID + "/enable":  nil,
		"/admin/desktops/nope/revoke":             nil,
		"/admin/people/bob/delete":                {"confirm": {"on"}},
		"/admin/people/bob/profile":               {"nickname": {"Robert"}},
		"/admin/people/bob/reset-link":            nil,
		"/admin/apps/" + c.app.AppID + "/delete":  {"confirm": {"on"}},
	}
}

// TestConsoleGate: nobody but a freshly signed-in operator gets in; an
// auditor reads but every change is refused; a cross-site form post and
// an address outside --admin-allow-cidr are refused.
func TestConsoleGate(t *testing.T) {
	c := newConsoleEnv(t, nil)
	anon := c.browser()
	if resp, _ := anon.get("/admin/people"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Fadmin%2Fpeople") {
		t.Fatalf("signed out: %d %s, want a redirect to the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, page := range []string{"/admin/people", "/admin/people/bob", "/admin/apps", "/admin/apps/" + c.app.AppID, "/admin/desktops", "/admin/log"} {
		if resp, body := c.person.get(page); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a person without a role GET %s: %d %.200s", page, resp.StatusCode, body)
		}
		if resp, body := c.auditor.get(page); resp.StatusCode != http.StatusOK || strings.Contains(body, `method="post" action="/admin`) {
			t.Errorf("auditor GET %s: %d, or it offers a change", page, resp.StatusCode)
		}
		if resp, _ := c.admin.get(page); resp.StatusCode != http.StatusOK {
			t.Errorf("admin GET %s: %d", page, resp.StatusCode)
		}
	}
	before := c.events(t, "")
	for path, form := range c.changes() {
		t.Run(path, func(t *testing.T) {
			for who, b := range map[string]*browser{"person": c.person, "auditor": c.auditor} {
				if resp, body := b.post(path, form, nil); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s POST %s: %d %.200s", who, path, resp.StatusCode, body)
				}
			}
			// A page elsewhere posting the admin's browser's cookie.
			if resp, _ := c.admin.post(path, form, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site POST %s: %d", path, resp.StatusCode)
			}
		})
	}
	if after := c.events(t, ""); len(after) != len(before) {
		t.Fatalf("refused changes left %d audit events: %+v", len(after)-len(before), after[:len(after)-len(before)])
	}
	if u, _ := c.store.GetUserByUsername(context.Background(), "bob"); !u.Active() || u.Role != "" {
		t.Fatalf("bob was changed by refused posts: %+v", u)
	}

	// An hour later the admin's sign-in is stale: she enters her password again.
	c.advance(ConsoleFreshnessPlus)
	resp, _ := c.admin.get("/admin/apps")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "confirm=1") || !strings.Contains(loc, "login_hint=alice") {
		t.Fatalf("stale admin: %d %s", resp.StatusCode, loc)
	}
	if resp, body := c.admin.get(resp.Header.Get("Location")); !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("the confirm page: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := c.admin.post("/admin/people/bob/disable", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "confirm=1") {
		t.Fatalf("a stale admin's change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.admin.login("alice")
	if resp, _ := c.admin.get("/admin/apps"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after confirming: %d", resp.StatusCode)
	}

	t.Run("admin-allow-cidr", func(t *testing.T) {
		c := newConsoleEnv(t, func(cfg *server.Config) { cfg.AdminAllowCIDR = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
		if resp, body := c.admin.get("/admin/people"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "admin-allow-cidr") {
			t.Fatalf("from 127.0.0.1 with only 10.0.0.0/8 allowed: %d %.200s", resp.StatusCode, body)
		}
	})
}

// ConsoleFreshnessPlus is just past how old an operator's sign-in may be.
const ConsoleFreshnessPlus = server.ConsoleFreshness + time.Minute

// events returns the audit log, newest first, of kind ("" all).
func (c *consoleEnv) events(t *testing.T, kind string) []storage.Event {
	t.Helper()
	ev, err := c.store.ListEvents(context.Background(), "", kind, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestConsoleChanges: an admin registers an app, edits its redirect URI,
// rotates its secret (the old one works in the grace period, then 40125),
// signs a person out everywhere and disables her; each is an audit event
// naming her.
func TestConsoleChanges(t *testing.T) {
	c := newConsoleEnv(t, nil)
	resp, body := c.admin.post("/admin/apps", url.Values{"name": {"Forum"}, "redirect_uris": {"https://forum.example/cb\n\nhttps://forum.example/cb2"}}, nil)
	secret := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(body)
	appid := regexp.MustCompile(`id="appid">([^<]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusCreated || secret == nil || appid == nil {
		t.Fatalf("register: %d %.400s", resp.StatusCode, body)
	}
	if resp, body := c.admin.post("/admin/apps", url.Values{"name": {"forum"}, "redirect_uris": {"https://f.example/cb"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "exists already") {
		t.Fatalf("a second app named forum: %d %.300s", resp.StatusCode, body)
	}

	resp, _ = c.admin.post("/admin/apps/"+c.app.AppID+"/edit", url.Values{"name": {"Demo Shop"}, "redirect_uris": {"http://shop.localhost:8081/callback\nhttps://shop.example/new"}, "fast_login": {"on"}, "alg": {"RS256"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if a, _ := c.store.GetApp(context.Background(), c.app.AppID); len(a.RedirectURIs) != 2 || a.RedirectURIs[1] != "https://shop.example/new" {
		t.Fatalf("redirect URIs after the edit: %q", a.RedirectURIs)
	}
	if resp, body := c.admin.post("/admin/apps/"+c.app.AppID+"/edit", url.Values{"name": {"Demo Shop"}, "redirect_uris": {"javascript:alert(1)"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "edit app") {
		t.Fatalf("a bad redirect URI: %d %.300s", resp.StatusCode, body)
	}

	// Rotation: the old secret works for the grace period, then stops.
	cred := c.enrol("bob")
	_, body = c.admin.post("/admin/apps/"+c.app.AppID+"/rotate", url.Values{"grace": {"1h"}}, nil)
	fresh := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(body)
	if fresh == nil || fresh[1] == c.app.Secret {
		t.Fatalf("rotate: %.400s", body)
	}
	if tr := c.exchange(c.app, c.code(cred, c.app)); tr.AccessToken == "" {
		t.Fatalf("the old secret in the grace period: %+v", tr)
	}
	c.advance(2 * time.Hour)
	if tr := c.exchange(c.app, c.code(cred, c.app)); tr.ErrCode != 40125 {
		t.Fatalf("the old secret after the grace period: %+v", tr)
	}
	rotated := c.app
	rotated.Secret = fresh[1]
	if tr := c.exchange(rotated, c.code(cred, c.app)); tr.AccessToken == "" {
		t.Fatalf("the new secret: %+v", tr)
	}

	// Find bob, sign him out everywhere: his desktop's credential stops.
	c.admin.login("alice") // two hours passed
	if _, body := c.admin.get("/admin/people?q=BO"); !strings.Contains(body, `href="/admin/people/bob"`) || strings.Contains(body, `href="/admin/people/carol"`) {
		t.Fatalf("search BO: %.600s", body)
	}
	if resp, _ := c.admin.post("/admin/people/bob/signout", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", resp.StatusCode)
	}
	if _, ae, status := c.authorize(cred, deviceSignIn(c.app)); status != http.StatusUnauthorized {
		t.Fatalf("bob's desktop after sign out everywhere: %d %+v", status, ae)
	}
	if resp, _ := c.person.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's browser after sign out everywhere: %d", resp.StatusCode)
	}
	if resp, body := c.admin.post("/admin/people/alice/disable", nil, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "yourself") {
		t.Fatalf("disable yourself: %d", resp.StatusCode)
	}
	c.admin.post("/admin/people/bob/disable", nil, nil)
	if _, body := c.admin.get("/admin/people/bob"); !strings.Contains(body, "Disabled since") {
		t.Fatalf("bob's page after disable: %.600s", body)
	}

	for kind, want := range map[string]string{"app_created": "Forum registered by admin alice on the console", "app_edited": "edited", "app_secret_rotated": "rotated",
		"signed_out_everywhere": "by admin alice on the console", "user_disabled": "by admin alice on the console"} {
		ev := c.events(t, kind)
		if len(ev) == 0 || !strings.Contains(ev[0].Detail, want) || !strings.Contains(ev[0].Detail, "admin alice on the console") {
			t.Errorf("audit %s: %+v, want %q naming the operator", kind, ev, want)
		}
	}
}

// TestConsoleLogExport: the log's filters (person, result, method,
// address range, time), its pages, and its CSV and JSON exports with the
// filters of the page; a CSV cell a spreadsheet would evaluate is defused.
func TestConsoleLogExport(t *testing.T) {
	c := newConsoleEnv(t, nil)
	ctx := context.Background()
	u, _ := c.store.GetUserByUsername(ctx, "bob")
	c.store.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "device_revoked", Detail: "=HYPERLINK(\"https://evil.example\")", CreatedAt: c.clock()})
	for i := range 5 {
		c.store.AddEvent(ctx, storage.Event{UserID: u.ID, Kind: "signin_refused", Method: storage.MethodPassword, Addr: fmt.Sprint("198.51.100.", i),
			Result: storage.ResultRefused, Reason: "wrong_password", Detail: fmt.Sprint("try ", i), CreatedAt: c.clock().Add(-time.Duration(i) * time.Hour)})
	}
	resp, body := c.auditor.get("/admin/log?user=bob&format=csv")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 7 || rows[0][12] != "detail" {
		t.Fatalf("csv %q: %v", body, err)
	}
	for _, row := range rows[1:] {
		if row[3] != "bob" {
			t.Errorf("a row of someone else in bob's export: %q", row)
		}
		if strings.HasPrefix(row[12], "=") {
			t.Errorf("a formula cell: %q", row[12])
		}
	}
	var entries []struct{ Kind, User, Addr, Result string }
	_, body = c.auditor.get("/admin/log?kind=login&format=json")
	if err := json.Unmarshal([]byte(body), &entries); err != nil || len(entries) != 3 {
		t.Fatalf("json of logins: %v %.300s", err, body)
	}
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"addr=198.51.100.0/30&format=json", 4},
		{"addr=198.51.100.4&format=json", 1},
		{"result=refused&user=bob&format=json", 5},
		{"method=password&result=refused&since=90m&format=json", 2},
		{"kind=signin_refused,device_revoked&format=json", 6},
	} {
		_, body = c.auditor.get("/admin/log?" + tc.query)
		entries = nil
		if err := json.Unmarshal([]byte(body), &entries); err != nil || len(entries) != tc.n {
			t.Errorf("%s: %d entries, want %d (%v %.300s)", tc.query, len(entries), tc.n, err, body)
		}
	}
	if resp, body := c.auditor.get("/admin/log?addr=not-an-address"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "CIDR range") {
		t.Errorf("a bad address filter: %d", resp.StatusCode)
	}
	// Pages of two: the Older link walks bob's seven events (his sign-in,
	// the revoked desktop, five wrong passwords).
	seen := 0
	next := "/admin/log?user=bob&limit=2"
	for range 10 {
		_, body := c.auditor.get(next)
		seen += strings.Count(body, `<td><code>`)
		m := regexp.MustCompile(`href="(/admin/log\?[^"]+)" id="older"`).FindStringSubmatch(body)
		if m == nil {
			break
		}
		next = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if seen != 7 {
		t.Errorf("paging showed %d of bob's 7 events", seen)
	}
}

// TestConsoleDelete: deleting a person takes her desktops, tokens and
// sessions and keeps her audit events; deleting an app stops its tokens.
// Neither happens without the box ticked, and an admin cannot delete
// herself.
func TestConsoleDelete(t *testing.T) {
	c := newConsoleEnv(t, nil)
	ctx := context.Background()
	cred := c.enrol("bob")
	tr := c.exchange(c.app, c.code(cred, c.app))
	if tr.AccessToken == "" {
		t.Fatalf("exchange: %+v", tr)
	}
	bob, _ := c.store.GetUserByUsername(ctx, "bob")
	if resp, body := c.admin.post("/admin/people/bob/delete", nil, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "tick the box") {
		t.Fatalf("delete without the box: %d", resp.StatusCode)
	}
	if resp, body := c.admin.post("/admin/people/alice/delete", url.Values{"confirm": {"on"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "yourself") {
		t.Fatalf("delete yourself: %d", resp.StatusCode)
	}
	if resp, _ := c.admin.post("/admin/people/bob/delete", url.Values{"confirm": {"on"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete bob: %d", resp.StatusCode)
	}
	if _, err := c.store.GetUserByUsername(ctx, "bob"); err == nil {
		t.Fatal("bob is still there")
	}
	if _, ae, status := c.authorize(cred, deviceSignIn(c.app)); status != http.StatusUnauthorized {
		t.Fatalf("bob's desktop after deleting him: %d %+v", status, ae)
	}
	if resp, _ := c.person.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's browser after deleting him: %d", resp.StatusCode)
	}
	var ui apiErr
	c.getJSON("/sns/userinfo?"+url.Values{"access_token": {tr.AccessToken}, "openid": {tr.OpenID}}.Encode(), &ui)
	if ui.ErrCode == 0 {
		t.Fatal("bob's access token works after deleting him")
	}
	if ev, _ := c.store.ListEvents(ctx, bob.ID, "", 100); len(ev) < 2 || ev[0].Kind != "user_deleted" || !strings.Contains(ev[0].Detail, "admin alice on the console") {
		t.Fatalf("bob's events after deleting him: %+v", ev)
	}

	cred = c.enrol("carol")
	code := c.code(cred, c.app)
	if resp, _ := c.admin.post("/admin/apps/"+c.app.AppID+"/delete", url.Values{"confirm": {"on"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete the app: %d", resp.StatusCode)
	}
	if tr := c.exchange(c.app, code); tr.ErrCode == 0 {
		t.Fatalf("a code of the deleted app redeemed: %+v", tr)
	}
	if ev := c.events(t, "app_deleted"); len(ev) != 1 || ev[0].AppID != c.app.AppID {
		t.Fatalf("app_deleted events: %+v", ev)
	}
}

// TestConsoleSessions: a person's page lists her web session, her sign-in
// to an app and her desktop; each ends on its own, and what it opened
// stops.
func TestConsoleSessions(t *testing.T) {
	c := newConsoleEnv(t, nil)
	cred := c.enrol("bob")
	tr := c.exchange(c.app, c.code(cred, c.app))
	_, body := c.admin.get("/admin/people/bob")
	ids := regexp.MustCompile(`name="id" value="((web|app|desktop):[^"]+)"`).FindAllStringSubmatch(body, -1)
	kinds := map[string]string{}
	for _, m := range ids {
		kinds[m[2]] = m[1]
	}
	if len(kinds) != 3 {
		t.Fatalf("bob's sessions on his page: %q", ids)
	}
	end := func(kind string) {
		t.Helper()
		if resp, body := c.admin.post("/admin/people/bob/end", url.Values{"id": {kinds[kind]}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("end %s: %d %.300s", kind, resp.StatusCode, body)
		}
	}
	end("app")
	var refreshed tokenResp
	c.getJSON("/sns/oauth2/refresh_token?"+url.Values{"appid": {c.app.AppID}, "grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}.Encode(), &refreshed)
	if refreshed.ErrCode == 0 {
		t.Fatalf("the refresh token of an ended sign-in: %+v", refreshed)
	}
	if redirect, _, _ := c.authorize(cred, deviceSignIn(c.app)); redirect == "" {
		t.Fatal("ending a sign-in to an app ended his desktop")
	}
	if resp, _ := c.person.get("/account"); resp.StatusCode != http.StatusOK {
		t.Fatalf("ending a sign-in to an app ended his web session: %d", resp.StatusCode)
	}
	end("web")
	if resp, _ := c.person.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("his browser after its session ended: %d", resp.StatusCode)
	}
	end("desktop")
	if _, _, status := c.authorize(cred, deviceSignIn(c.app)); status != http.StatusUnauthorized {
		t.Fatalf("his desktop after it was ended: %d", status)
	}
	if resp, body := c.admin.post("/admin/people/bob/end", url.Values{"id": {"web:0000"}}, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "has no session") {
		t.Fatalf("an unknown session: %d", resp.StatusCode)
	}
	if ev := c.events(t, "device_revoked"); len(ev) == 0 || !strings.Contains(ev[0].Detail, "admin alice on the console") {
		t.Fatalf("device_revoked: %+v", ev)
	}
}

// TestResetLink: an admin makes a one-time link for bob; with it bob sets
// a new password (typed twice alike), every earlier sign-in of his ends,
// and the link works once.
func TestResetLink(t *testing.T) {
	c := newConsoleEnv(t, nil)
	_, body := c.admin.post("/admin/people/bob/reset-link", nil, nil)
	m := regexp.MustCompile(`/reset/([A-Za-z0-9_-]{20,})`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no link shown: %.500s", body)
	}
	anon := c.browser()
	path := "/reset/" + m[1]
	if resp, page := anon.get(path); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="again"`) {
		t.Fatalf("the reset page: %d", resp.StatusCode)
	}
	if resp, _ := anon.post(path, url.Values{"password": {"new-bob-password"}, "again": {"new-bob-passwore"}}, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("two different passwords: %d", resp.StatusCode)
	}
	if resp, page := anon.post(path, url.Values{"password": {"new-bob-password"}, "again": {"new-bob-password"}}, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Password set") {
		t.Fatalf("setting the password: %d %.300s", resp.StatusCode, page)
	}
	if resp, _ := c.person.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's earlier session after the reset: %d", resp.StatusCode)
	}
	b := c.browser()
	if resp, _ := b.post("/login", url.Values{"username": {"bob"}, "password": {"new-bob-password"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password: %d", resp.StatusCode)
	}
	if resp, _ := anon.post(path, url.Values{"password": {"third-password"}, "again": {"third-password"}}, nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("the link a second time: %d", resp.StatusCode)
	}
	if ev := c.events(t, "password_reset_link"); len(ev) != 1 || !strings.Contains(ev[0].Detail, "admin alice on the console") {
		t.Fatalf("the link's audit event: %+v", ev)
	}
}

// TestConsoleChinese: the browser's Accept-Language picks Chinese, ?lang=
// switches and is remembered, and the sign-in page the console sends a
// stale operator to speaks the same language.
func TestConsoleChinese(t *testing.T) {
	c := newConsoleEnv(t, nil)
	get := func(path, acceptLang string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", c.url+path, nil)
		if acceptLang != "" {
			req.Header.Set("Accept-Language", acceptLang)
		}
		return c.admin.send(req)
	}
	steps := []struct {
		name, path, acceptLang  string
		wantLang, want, notWant string
	}{
		{"English by default", "/admin/people", "", `lang="en"`, ">People<", "人员"},
		{"the browser asks for Chinese", "/admin/people", "zh-CN,zh;q=0.9,en;q=0.8", `lang="zh-CN"`, ">人员<", ">People<"},
		{"a Chinese log page", "/admin/log", "zh-CN", `lang="zh-CN"`, "登录日志", "Sign-in log"},
		{"?lang=en overrides the browser", "/admin/people?lang=en", "zh-CN", `lang="en"`, ">People<", "人员"},
		{"and is remembered", "/admin/apps", "zh-CN", `lang="en"`, ">Apps<", "应用"},
		{"?lang=zh switches back", "/admin/desktops?lang=zh", "", `lang="zh-CN"`, "没有已登记的电脑", "No desktop is enrolled"},
		{"a person's page", "/admin/people/bob", "", `lang="zh-CN"`, "全部退出登录", "Sign out everywhere"},
	}
	for _, s := range steps {
		resp, body := get(s.path, s.acceptLang)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, s.wantLang) || !strings.Contains(body, s.want) || strings.Contains(body, s.notWant) {
			t.Fatalf("%s: GET %s: %d, want %s and %q without %q:\n%.600s", s.name, s.path, resp.StatusCode, s.wantLang, s.want, s.notWant, body)
		}
	}
	// Unknown and hostile values fall back to English, never into the page.
	if resp, body := get(`/admin/people?lang="><script>`, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `lang="en"`) || strings.Contains(body, "<script>") {
		t.Fatalf("a hostile ?lang=: %d %.300s", resp.StatusCode, body)
	}
	c.advance(ConsoleFreshnessPlus)
	resp, _ := get("/admin/people?lang=zh", "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stale admin: %d", resp.StatusCode)
	}
	if _, body := get(resp.Header.Get("Location"), ""); !strings.Contains(body, "确认是你本人") || !strings.Contains(body, `lang="zh-CN"`) {
		t.Fatalf("the re-confirmation page is not in Chinese: %.600s", body)
	}
	if resp, body := c.admin.post("/login", url.Values{"username": {"alice"}, "password": {"wrong"}}, nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("a wrong password in Chinese: %d %.300s", resp.StatusCode, body)
	}
}
