package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/connector"
	"github.com/scanfree/scanfree/backend/connector/ldap"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/harness/ldaptest"
	"github.com/scanfree/scanfree/internal/harness/testutil"
)

// directoryEnv is a backend whose login form offers a real slapd as
// "Corp directory" (id corp), re-checked every syncEvery.
func directoryEnv(t *testing.T, syncEvery time.Duration) (*env, *ldaptest.Server) {
	t.Helper()
	dir := ldaptest.Start(t)
	pw := filepath.Join(t.TempDir(), "bind-pw")
	os.WriteFile(pw, []byte(ldaptest.AdminPW), 0o600)
	c, err := ldap.New("corp", "Corp directory", ldap.Config{Host: dir.Host, RootCA: dir.CAFile, BindDN: ldaptest.AdminDN, BindPWFile: pw,
		Timeout: 2 * time.Second, UserSearch: ldap.UserSearch{BaseDN: ldaptest.People, Filter: "(objectClass=inetOrgPerson)"},
		GroupSearch: ldap.GroupSearch{BaseDN: ldaptest.Groups}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c2 *server.Config) {
		c2.Connectors, c2.DirectorySync = []connector.Connector{c}, syncEvery
	})
	return e, dir
}

// loginWith posts the login form with connector id.
func (b *browser) loginWith(id, username, password string) (*http.Response, string) {
	b.e.t.Helper()
	return b.post("/login", url.Values{"connector": {id}, "username": {username}, "password": {password}, "next": {"/account"}}, nil)
}

// TestDirectorySignIn: the login form offers the directory; the first
// sign-in through it makes the person, later ones find her by her entry's
// stable id (a rename keeps her account and so her openid), a wrong
// password counts against the account's ceiling, an operator's account
// of the same name is never taken over, and a deleted entry is disabled
// by the sync within one interval: her desktop signed out, her tokens
// dead.
func TestDirectorySignIn(t *testing.T) {
	e, dir := directoryEnv(t, 200*time.Millisecond)
	ctx := context.Background()
	aliceDN := dir.AddPerson("alice", "Alice Liddell", "alice-dir-pw")
	dir.AddGroup("staff", aliceDN)
	e.user("bob") // a local account that shares nothing with the directory
	dir.AddPerson("bob", "Directory Bob", "bob-dir-pw")

	b := e.browser()
	if _, body := b.get("/login"); !strings.Contains(body, `<option value="corp" selected>Corp directory</option>`) ||
		!strings.Contains(body, `<option value="local">Local account</option>`) {
		t.Fatalf("the login form offers no directory:\n%s", body)
	}
	resp, body := b.loginWith("corp", "alice", "alice-dir-pw")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice through the directory: %d %s", resp.StatusCode, body)
	}
	u, err := e.store.GetUserByUsername(ctx, "alice")
	if err != nil || u.Nickname != "Alice Liddell" || u.PasswordHash != "" {
		t.Fatalf("alice made at her first sign-in: %+v %v", u, err)
	}
	links, _ := e.store.ListIdentities(ctx, "corp", u.ID)
	if len(links) != 1 || len(links[0].Groups) != 1 || links[0].Groups[0] != "staff" {
		t.Fatalf("alice's link: %+v", links)
	}
	// No password of hers is kept here: the local form knows none.
	if resp, _ := e.browser().loginWith("local", "alice", "alice-dir-pw"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the directory password on the local form: %d", resp.StatusCode)
	}

	t.Run("an account of the same name is not taken over", func(t *testing.T) {
		resp, body := e.browser().loginWith("corp", "bob", "bob-dir-pw")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("directory bob: %d %s", resp.StatusCode, body)
		}
		local, _ := e.store.GetUserByUsername(ctx, "bob")
		dirBob, err := e.store.GetUserByUsername(ctx, "bob.corp")
		if err != nil || dirBob.ID == local.ID || dirBob.Nickname != "Directory Bob" || local.Nickname != "Bob" {
			t.Fatalf("local %+v, directory %+v (%v)", local, dirBob, err)
		}
		e.browser().login("bob") // the local one still signs in with his own password
	})

	t.Run("wrong password counts", func(t *testing.T) {
		before, _ := e.store.CountAttempts(ctx, storage.AccountKey("alice"), time.Hour, e.clock())
		for range 2 {
			if resp, _ := e.browser().loginWith("corp", "alice", "not-her-password"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("a wrong directory password: %d", resp.StatusCode)
			}
		}
		n, err := e.store.CountAttempts(ctx, storage.AccountKey("alice"), time.Hour, e.clock())
		if err != nil || n != before+2 {
			t.Fatalf("the account's failures: %d %v, want %d", n, err, before+2)
		}
		refused, _ := e.store.QueryEvents(ctx, storage.EventQuery{UserID: "", Kinds: []string{"signin_refused"}, Limit: 10})
		if len(refused) < 2 || refused[0].Reason != "wrong_password" {
			t.Fatalf("refusals logged: %+v", refused)
		}
	})

	t.Run("an app for a group", func(t *testing.T) {
		app := e.app(admin.AppSpec{Name: "Staff Wiki", FastLogin: true, Fence: storage.Fence{Groups: []string{"staff"}}})
		if c := e.code(e.enrol("alice"), app); c == "" {
			t.Fatal("alice, in staff, was refused")
		}
		for _, who := range []string{"bob.corp", "bob"} { // in the directory but not the group; local only
			_, ae, _ := e.authorize(e.enrol(who), deviceSignIn(app))
			if ae.ErrCode == 0 || !strings.Contains(ae.ErrMsg, "Staff Wiki is for members of staff; ask your administrator") {
				t.Fatalf("%s signed in to an app for staff: %+v", who, ae)
			}
			p, _ := e.store.GetUserByUsername(ctx, who)
			evs, _ := e.store.QueryEvents(ctx, storage.EventQuery{UserID: p.ID, Kinds: []string{"signin_refused"}, Limit: 1})
			if len(evs) != 1 || evs[0].Reason != "group" {
				t.Fatalf("%s's refusal logged: %+v", who, evs)
			}
		}
	})

	t.Run("rename keeps her", func(t *testing.T) {
		dir.Rename("alice", "alice.l")
		if resp, body := e.browser().loginWith("corp", "alice.l", "alice-dir-pw"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the renamed entry: %d %s", resp.StatusCode, body)
		}
		users, _ := e.store.ListUsers(ctx)
		if len(users) != 3 {
			t.Fatalf("a rename made a second person: %d people", len(users))
		}
		link, _ := e.store.GetIdentity(ctx, "corp", links[0].Subject)
		if link.UserID != u.ID || link.Username != "alice.l" {
			t.Fatalf("after the rename: %+v", link)
		}
	})

	t.Run("deleted: disabled by the sync", func(t *testing.T) {
		app := e.app(admin.AppSpec{FastLogin: true})
		cred := e.enrol("alice")
		tok := e.exchange(app, e.code(cred, app))
		if tok.AccessToken == "" {
			t.Fatalf("a token for alice: %+v", tok)
		}
		sync, stop := context.WithCancel(ctx)
		defer stop()
		e.advance(time.Minute) // her last check is more than half an interval old
		go e.server.SyncDirectories(sync)
		dir.Delete("uid=alice.l," + ldaptest.People)
		testutil.Eventually(t, 5*time.Second, "alice disabled by the sync", func() bool {
			u, _ := e.store.GetUser(ctx, u.ID)
			return !u.Active()
		})
		if _, ae, _ := e.authorize(cred, deviceSignIn(app)); ae.ErrCode == 0 {
			t.Fatal("her desktop still signs in")
		}
		var info apiErr
		e.getJSON("/sns/userinfo?access_token="+url.QueryEscape(tok.AccessToken)+"&openid="+tok.OpenID, &info)
		if info.ErrCode == 0 {
			t.Fatal("her access token still answers")
		}
		// The event follows the change it records.
		testutil.Eventually(t, 5*time.Second, "the audit event naming the directory", func() bool {
			evs, _ := e.store.QueryEvents(ctx, storage.EventQuery{UserID: u.ID, Kinds: []string{"user_disabled"}, Limit: 1})
			return len(evs) == 1 && strings.Contains(evs[0].Detail, "disabled by directory Corp directory")
		})
	})
}

// TestDirectoryRecheckAtSignIn: a scan-free sign-in asks the directory
// again (at most once a minute per person): an entry deleted there is
// refused at once and disabled here, before any sync.
func TestDirectoryRecheckAtSignIn(t *testing.T) {
	e, dir := directoryEnv(t, time.Hour)
	ctx := context.Background()
	dn := dir.AddPerson("mallory", "Mallory", "mallory-dir-pw")
	if resp, body := e.browser().loginWith("corp", "mallory", "mallory-dir-pw"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mallory: %d %s", resp.StatusCode, body)
	}
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("mallory")
	dir.Delete(dn)
	if c := e.code(cred, app); c == "" { // asked less than a minute ago: not again
		t.Fatal("refused before the re-check was due")
	}
	e.advance(2 * time.Minute)
	if _, ae, _ := e.authorize(cred, deviceSignIn(app)); ae.ErrCode == 0 {
		t.Fatal("a person the directory no longer has signed in")
	}
	if u, _ := e.store.GetUserByUsername(ctx, "mallory"); u.Active() {
		t.Fatal("she was refused but not disabled")
	}
}

// TestDirectoryDown: with the directory down, signing in through it says
// so (and is no wrong password), local and scan-free sign-ins go on, the
// sync disables nobody, and the failure is counted.
func TestDirectoryDown(t *testing.T) {
	e, dir := directoryEnv(t, 100*time.Millisecond)
	ctx := context.Background()
	dir.AddPerson("carol", "Carol", "carol-dir-pw")
	if resp, body := e.browser().loginWith("corp", "carol", "carol-dir-pw"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("carol: %d %s", resp.StatusCode, body)
	}
	e.user("dave")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("carol")
	dir.Stop()

	resp, body := e.browser().loginWith("corp", "carol", "carol-dir-pw")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Corp directory is not answering") {
		t.Fatalf("signing in with the directory down: %d %s", resp.StatusCode, body)
	}
	if n, _ := e.store.CountAttempts(ctx, storage.AccountKey("carol"), time.Hour, e.clock()); n != 0 {
		t.Fatalf("a directory down counted as %d wrong passwords", n)
	}
	e.browser().login("dave")
	e.advance(2 * time.Minute) // her directory is due a re-check at sign-in, and does not answer
	if c := e.code(cred, app); c == "" {
		t.Fatal("carol's desktop no longer signs in")
	}
	sync, stop := context.WithCancel(ctx)
	go e.server.SyncDirectories(sync)
	testutil.Eventually(t, 5*time.Second, "the sign-in's and two sync rounds' failures counted", func() bool {
		rec := httptest.NewRecorder()
		e.server.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		var n int
		_, rest, _ := strings.Cut(rec.Body.String(), `scanfree_directory_errors_total{connector="corp"} `)
		fmt.Sscan(rest, &n)
		return n >= 3
	})
	stop()
	u, _ := e.store.GetUserByUsername(ctx, "carol")
	if !u.Active() {
		t.Fatal("a directory down disabled carol")
	}
}
