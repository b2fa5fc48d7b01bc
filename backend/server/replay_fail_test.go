package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/secret"
)

// revokeFails is a real SQLite store that cannot revoke a family, as when
// the database fails between the replay's read and its revocation.
type revokeFails struct{ storage.Storage }

func (revokeFails) RevokeFamily(context.Context, []byte, time.Time) error {
	return errors.New("database unreachable")
}

// TestReplayRevocationFails: when revoking the tokens of a replayed code
// fails, neither face tells the client they are revoked: WeChat answers
// its system error, OIDC server_error, and the replay is not recorded as
// handled.
func TestReplayRevocationFails(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "scanfree.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(revokeFails{st}, Config{PublicURL: "http://idp.localhost", DataKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	u, err := admin.CreateUser(ctx, st, admin.UserSpec{Username: "alice", Nickname: "Alice", Password: "alice-password"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	app, err := admin.CreateApp(ctx, st, admin.AppSpec{Name: "Shop", RedirectURIs: []string{"https://shop.example/cb"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mint := func(face storage.Face) string {
		code := secret.Code()
		now := time.Now()
		if err := st.CreateSignIn(ctx, storage.Code{Hash: secret.Hash(code), AppID: app.AppID, RedirectURI: "https://shop.example/cb", UserID: u.ID,
			Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(time.Minute), Face: face}, storage.Event{UserID: u.ID, Kind: "signin", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		return code
	}
	serve := func(req *http.Request) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body map[string]any
		json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}

	wechat := mint(storage.FaceWeChat)
	exchange := func() map[string]any {
		_, body := serve(httptest.NewRequest("GET", "/sns/oauth2/access_token?"+url.Values{"appid": {app.AppID}, "secret": {app.Secret},
			"code": {wechat}, "grant_type": {"authorization_code"}}.Encode(), nil))
		return body
	}
	if body := exchange(); body["access_token"] == nil {
		t.Fatalf("first exchange: %v", body)
	}
	if body := exchange(); body["errcode"] != float64(errSystem) || strings.Contains(body["errmsg"].(string), "used") {
		t.Fatalf("WeChat replay while revoking fails: %v, want the system error", body)
	}

	oidc := mint(storage.FaceOIDC)
	token := func() (int, map[string]any) {
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {oidc},
			"redirect_uri": {"https://shop.example/cb"}, "client_id": {app.AppID}, "client_secret": {app.Secret}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return serve(req)
	}
	if code, body := token(); code != 200 {
		t.Fatalf("first token request: %d %v", code, body)
	}
	if code, body := token(); code != http.StatusInternalServerError || body["error"] != "server_error" {
		t.Fatalf("OIDC replay while revoking fails: %d %v, want 500 server_error", code, body)
	}
	if ev, _ := st.ListEvents(ctx, u.ID, "code_reused", 10); len(ev) != 0 {
		t.Fatalf("a replay whose revocation failed was recorded as handled: %+v", ev)
	}
}
