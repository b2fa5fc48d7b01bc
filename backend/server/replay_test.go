package server_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/internal/deviceapi"
)

// reusedEvents returns the "code_reused" audit events of username.
func reusedEvents(t *testing.T, e *env, username string) []storage.Event {
	t.Helper()
	u, err := e.store.GetUserByUsername(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := e.store.ListEvents(context.Background(), u.ID, "code_reused", 10)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// sameReplayEvent checks that exactly one replay was recorded, in the
// words every face records it with.
func sameReplayEvent(t *testing.T, e *env, appID string) {
	t.Helper()
	ev := reusedEvents(t, e, "alice")
	if len(ev) != 1 || ev[0].AppID != appID || ev[0].Detail != "a sign-in code was presented twice; what the app got with it was revoked" {
		t.Fatalf("replay audit events: %+v", ev)
	}
}

// TestReplayOIDC: the same on the OpenID Connect face.
func TestReplayOIDC(t *testing.T) {
	o := newOIDCEnv(t, admin.AppSpec{})
	code, v := o.code()
	tok, err := o.config().Exchange(o.ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if st, e := o.tokenErr(o.codeForm(code, v)); st != 400 || e != "invalid_grant" {
		t.Fatalf("replay: %d %s", st, e)
	}
	if _, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("the access token of the replayed code still works")
	}
	sameReplayEvent(t, o.env, o.app.AppID)
}

// TestReplayJSCode: a desktop app's login code presented twice ends the
// session its first redemption gave (the session_key: user data is no
// longer minted under it), and is recorded like the others.
func TestReplayJSCode(t *testing.T) {
	a := newAppEnv(t, nil)
	code := a.login(a.a)
	if s := a.jscode(a.a.AppID, a.a.Secret, code); s.ErrCode != 0 {
		t.Fatalf("jscode2session: %+v", s)
	}
	var data deviceapi.AppData
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID}, &data); st != http.StatusOK {
		t.Fatalf("user data before the replay: %d", st)
	}
	if s := a.jscode(a.a.AppID, a.a.Secret, code); s.ErrCode != 40163 {
		t.Fatalf("replay: %+v", s)
	}
	var e apiErr
	if st := a.device(deviceapi.PathAppData, deviceapi.AppDataRequest{AppID: a.a.AppID}, &e); st == http.StatusOK {
		t.Fatal("user data is still minted under the session_key of a replayed code")
	}
	sameReplayEvent(t, a.env, a.a.AppID)
}
