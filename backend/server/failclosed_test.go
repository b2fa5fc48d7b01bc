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
	"sync/atomic"
	"testing"

	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
	"github.com/scanfree/scanfree/backend/tickets"
	"github.com/scanfree/scanfree/internal/secret"
)

// flakySecrets is a real SQLite store whose server secrets fail to load
// while down is set, as when the database cannot be reached.
type flakySecrets struct {
	storage.Storage
	down atomic.Bool
}

func (f *flakySecrets) Secret(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	if f.down.Load() {
		return nil, errors.New("database unreachable")
	}
	return f.Storage.Secret(ctx, name, fresh)
}

func newFlakyServer(t *testing.T) (*Server, *flakySecrets) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "scanfree.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &flakySecrets{Storage: st}
	f.down.Store(true)
	s, err := New(f, Config{PublicURL: "http://idp.localhost", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// TestPollFailsClosedWithoutKey: while the server key cannot be loaded, a
// poll with an empty (or any) key must not collect a confirmed ticket's
// code. Before the fix an empty key matched the empty derived key.
func TestPollFailsClosedWithoutKey(t *testing.T) {
	s, _ := newFlakyServer(t)
	ctx := context.Background()
	tk, err := s.tickets.Create(ctx, ticketFor("wxapp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.tickets.Scan(ctx, tk.UUID, "u1"); err != nil {
		t.Fatal(err)
	}
	// Unsealed on purpose: even a code in the clear must not come out.
	if _, err := s.tickets.Confirm(ctx, tk.UUID, "u1", []byte("THE-CODE")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "x", strings.Repeat("A", 22)} {
		t.Run("key="+key, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/connect/l/qrconnect?"+url.Values{"uuid": {tk.UUID}, "key": {key}, "last": {"0"}}.Encode(), nil))
			var a qrStatus
			json.Unmarshal(rec.Body.Bytes(), &a)
			if a.ErrCode != 500 || a.Code != "" || strings.Contains(rec.Body.String(), "THE-CODE") {
				t.Fatalf("poll with key %q while the key is unavailable: %s", key, rec.Body)
			}
		})
	}
}

// TestNoTicketWithoutKey: the hosted page and /connect/qrticket refuse to
// create a ticket they could not guard, instead of handing out a ticket
// with an empty poll key.
func TestNoTicketWithoutKey(t *testing.T) {
	s, f := newFlakyServer(t)
	f.down.Store(false)
	ctx := context.Background()
	if err := f.CreateApp(ctx, storage.App{AppID: "wxapp", Name: "Shop", SecretHash: secret.Hash("s"),
		RedirectURIs: []string{"https://shop.example/cb"}, FastLogin: true}); err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	h := s.Handler()
	page := httptest.NewRecorder()
	h.ServeHTTP(page, httptest.NewRequest("GET", "/connect/qrconnect?"+url.Values{"appid": {"wxapp"}, "redirect_uri": {"https://shop.example/cb"},
		"response_type": {"code"}, "scope": {"snsapi_login"}}.Encode(), nil))
	// The page itself holds no ticket (it asks for one when it shows the
	// QR code), so it may render; it must carry no key or uuid.
	if body := page.Body.String(); strings.Contains(body, `"key"`) || strings.Contains(body, `"uuid"`) {
		t.Fatalf("hosted page without the key: %d %s", page.Code, body)
	}
	req := httptest.NewRequest("POST", "/connect/qrticket", strings.NewReader(`{"appid":"wxapp","redirect_uri":"https://shop.example/cb","scope":"snsapi_login","state":""}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "uuid") {
		t.Fatalf("qrticket without the key: %d %s", rec.Code, rec.Body)
	}
	if n, err := f.CountTickets(ctx, s.now()); err != nil || n != 0 {
		t.Fatalf("%d tickets exist with no key to guard them", n)
	}
}

// TestOpenIDFailsClosed: /sns/auth and /sns/userinfo need the key to
// derive the openid they compare with; without it they refuse, even for
// an empty openid.
func TestOpenIDFailsClosed(t *testing.T) {
	s, f := newFlakyServer(t)
	f.down.Store(false)
	ctx := context.Background()
	tok := secret.Token()
	if err := f.CreateToken(ctx, storage.Token{Hash: secret.Hash(tok), Kind: storage.AccessToken, AppID: "wxapp", UserID: "u1", CodeHash: secret.Hash("code"),
		CreatedAt: s.now(), ExpiresAt: s.now().Add(s.cfg.AccessTTL)}); err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	for _, path := range []string{"/sns/auth", "/sns/userinfo"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path+"?"+url.Values{"access_token": {tok}, "openid": {""}}.Encode(), nil))
		if strings.Contains(rec.Body.String(), `"errcode":0`) || strings.Contains(rec.Body.String(), "nickname") {
			t.Fatalf("%s without the key: %s", path, rec.Body)
		}
	}
}

func ticketFor(appID string) tickets.Ticket {
	return tickets.Ticket{AppID: appID, RedirectURI: "https://shop.example/cb", Scope: "snsapi_login"}
}
