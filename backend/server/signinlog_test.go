package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
)

// TestSignInLog: each sign-in and each refusal is one event of the log
// with its method, face, client address, result and reason, and counts in
// scanfree_signins_total by method and result.
func TestSignInLog(t *testing.T) {
	e := newEnvWith(t, nil)
	e.user("alice")
	app := e.app(admin.AppSpec{FastLogin: true})
	cred := e.enrol("alice")
	ctx := context.Background()

	b := e.browser()
	b.post("/login", url.Values{"username": {"alice"}, "password": {"not-hers"}}, nil)
	b.post("/login", url.Values{"username": {"nobody"}, "password": {"x"}}, nil)
	b.login("alice")
	e.code(cred, app)
	if _, err := admin.SetAppDisabled(ctx, e.store, app.AppID, true, "the test", e.clock()); err != nil {
		t.Fatal(err)
	}
	if redirect, _, _ := e.authorize(cred, deviceSignIn(app)); redirect != "" {
		t.Fatal("a disabled app signed in to")
	}

	got, err := e.store.QueryEvents(ctx, storage.EventQuery{Kinds: []string{"signin", "signin_refused", "login"}})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ kind, method, face, result, reason string }
	want := []row{ // newest first
		{"signin_refused", storage.MethodScanFree, "wechat", storage.ResultRefused, "app_disabled"},
		{"signin", storage.MethodScanFree, "wechat", storage.ResultOK, ""},
		{"login", storage.MethodPassword, "web", storage.ResultOK, ""},
		{"signin_refused", storage.MethodPassword, "web", storage.ResultRefused, "wrong_password"},
		{"signin_refused", storage.MethodPassword, "web", storage.ResultRefused, "wrong_password"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d sign-in events, want %d: %+v", len(got), len(want), got)
	}
	alice, _ := e.store.GetUserByUsername(ctx, "alice")
	for i, w := range want {
		g := got[i]
		if (row{g.Kind, g.Method, g.Face, g.Result, g.Reason}) != w || g.Addr != "127.0.0.1" {
			t.Errorf("event %d: %+v, want %+v from 127.0.0.1", i, g, w)
		}
		if i != 3 && g.UserID != alice.ID { // the unknown username has no person
			t.Errorf("event %d is not alice's: %+v", i, g)
		}
	}
	if got[3].UserID != "" || !strings.Contains(got[3].Detail, `"nobody"`) {
		t.Errorf("the unknown username's refusal: %+v", got[3])
	}
	refused, _ := e.store.QueryEvents(ctx, storage.EventQuery{Result: storage.ResultRefused, UserID: alice.ID})
	if len(refused) != 2 {
		t.Errorf("alice's refusals: %+v", refused)
	}
}

// TestSignInCounters: scanfree_signins_total counts by method and result.
func TestSignInCounters(t *testing.T) {
	e := newEnvWith(t, nil)
	e.user("alice")
	b := e.browser()
	b.post("/login", url.Values{"username": {"alice"}, "password": {"not-hers"}}, nil)
	b.login("alice")
	body := metrics(t, e)
	for _, want := range []string{`scanfree_signins_total{method="password",result="ok"} 1`, `scanfree_signins_total{method="password",result="refused"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(body, "scanfree_signins_total"))
		}
	}
}

// grep returns the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// metrics returns what the server's /metrics answers.
func metrics(t *testing.T, e *env) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.server.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
