package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/admin"
	"github.com/scanfree/scanfree/backend/server"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/postgres"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/internal/harness/pgtest"
	"github.com/scanfree/scanfree/internal/harness/system"
	"github.com/scanfree/scanfree/internal/secret"
)

// countedStore is a store that counts its statements.
type countedStore interface {
	storage.Storage
	storage.Counted
}

// TestStatementsPerOperation counts what a relying party's calls cost the
// database, on both stores: userinfo is one read; an exchange is the
// app's and the code's reads and one write transaction (on PostgreSQL one
// statement, so one round trip); a refresh is the app's and the token's
// reads and one write transaction under the family's lock.
func TestStatementsPerOperation(t *testing.T) {
	// The most statements (and write transactions) of each operation.
	type most struct{ exchange, refresh int64 }
	limits := map[string]most{"sqlite": {exchange: 5, refresh: 4}, "postgres": {exchange: 3, refresh: 5}}
	stores := map[string]func(t *testing.T) countedStore{
		"sqlite": func(t *testing.T) countedStore {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "scanfree.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) countedStore {
			st, err := postgres.Open(context.Background(), pgtest.DSN(t), postgres.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			srv, err := server.New(st, server.Config{PublicURL: "http://idp.test", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			now := time.Now()
			app, err := admin.CreateApp(ctx, st, admin.AppSpec{Name: "Shop", RedirectURIs: []string{"https://rp.example/cb"}}, now)
			if err != nil {
				t.Fatal(err)
			}
			u, err := admin.CreateUser(ctx, st, admin.UserSpec{Username: "alice", Nickname: "Alice", Password: "alice-password"}, now)
			if err != nil {
				t.Fatal(err)
			}
			mint := func() string {
				code := secret.Code()
				c := storage.Code{Hash: secret.Hash(code), AppID: app.AppID, UserID: u.ID, Scope: "snsapi_login", Face: storage.FaceWeChat,
					RedirectURI: "https://rp.example/cb", CreatedAt: now, ExpiresAt: now.Add(time.Hour), AuthTime: now}
				if err := st.CreateSignIn(ctx, c, storage.Event{UserID: u.ID, Kind: "signin", AppID: app.AppID, CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
				return code
			}
			// The first of each call warms what a running server has warm
			// (the openid key, prepared statements); the second is counted.
			var tok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
				OpenID       string `json:"openid"`
			}
			codes := []string{mint(), mint()}
			exchange := func() {
				code := codes[0]
				codes = codes[1:]
				_, b, err := system.Exchange(ctx, nil, hs.URL, app.AppID, app.Secret, code)
				if err != nil {
					t.Fatal(err)
				}
				json.Unmarshal(b, &tok)
			}
			get := func(path string, q url.Values) []byte {
				resp, err := http.Get(hs.URL + path + "?" + q.Encode())
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"errcode"`) {
					t.Fatalf("%s: %s %s", path, resp.Status, b)
				}
				return b
			}
			userinfo := func() {
				get("/sns/userinfo", url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}})
			}
			refresh := func() {
				b := get("/sns/oauth2/refresh_token", url.Values{"appid": {app.AppID}, "grant_type": {"refresh_token"},
					"refresh_token": {tok.RefreshToken}})
				json.Unmarshal(b, &tok)
			}
			for _, c := range []struct {
				op                 string
				call               func()
				statements, writes int64
			}{
				{"exchange", exchange, limits[name].exchange, 1},
				{"userinfo", userinfo, 1, 0},
				{"refresh", refresh, limits[name].refresh, 1},
			} {
				c.call()
				before := st.Counts()
				c.call()
				after := st.Counts()
				stm, w := after.Statements-before.Statements, after.Writes-before.Writes
				t.Logf("%s: %d statements, %d write transactions", c.op, stm, w)
				if stm > c.statements || w > c.writes {
					t.Errorf("%s ran %d statements in %d write transactions; want at most %d in %d", c.op, stm, w, c.statements, c.writes)
				}
			}
		})
	}
}
