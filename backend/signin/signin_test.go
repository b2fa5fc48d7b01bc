package signin_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/signin"
	"github.com/scanfree/scanfree/backend/storage"
	"github.com/scanfree/scanfree/backend/storage/sqlite"
)

// TestCheck: every refusal of a sign-in, with its reason, on a real store.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, a := range []storage.App{
		{AppID: "wxfast", Name: "Fast", Owner: "o", SecretHash: []byte{1}, RedirectURIs: []string{"https://rp.example/cb"}, FastLogin: true},
		{AppID: "wxqr", Name: "QR", Owner: "o", SecretHash: []byte{1}, RedirectURIs: []string{"https://rp.example/cb"}},
	} {
		if err := st.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	s := signin.New(st, signin.Config{Now: func() time.Time { return now }})
	ar := func(mod func(*storage.AuthRequest)) *storage.AuthRequest {
		a := storage.AuthRequest{ID: "r", ClientID: "wxfast", RedirectURI: "https://rp.example/cb", Scope: "openid", ExpiresAt: now.Add(time.Minute)}
		if mod != nil {
			mod(&a)
		}
		return &a
	}
	ok := signin.Request{AppID: "wxfast", RedirectURI: "https://rp.example/cb", Scope: "snsapi_login", State: "s"}
	oidc := signin.Request{AppID: "wxfast", RedirectURI: "https://rp.example/cb", Scope: "openid", State: "x"}
	for _, tc := range []struct {
		name string
		req  signin.Request
		fast bool
		want signin.Reason // 0: accepted
	}{
		{"a WeChat sign-in", ok, true, 0},
		{"unknown app", signin.Request{AppID: "wxnope", RedirectURI: ok.RedirectURI, Scope: ok.Scope}, false, signin.UnknownApp},
		{"scan-free to a QR-only app", signin.Request{AppID: "wxqr", RedirectURI: ok.RedirectURI, Scope: ok.Scope, State: "s"}, true, signin.QROnly},
		{"QR to a QR-only app", signin.Request{AppID: "wxqr", RedirectURI: ok.RedirectURI, Scope: ok.Scope, State: "s"}, false, 0},
		{"unregistered redirect", signin.Request{AppID: "wxfast", RedirectURI: "https://evil.example/cb", Scope: ok.Scope}, false, signin.BadRequest},
		{"an OIDC request", withOIDC(oidc, ar(nil)), true, 0},
		{"an OIDC request for another redirect", withOIDC(oidc, ar(func(a *storage.AuthRequest) { a.RedirectURI = "https://rp.example/other" })), true, signin.BadRequest},
		{"an OIDC request for another app", withOIDC(oidc, ar(func(a *storage.AuthRequest) { a.ClientID = "wxqr" })), true, signin.BadRequest},
		{"an expired OIDC request", withOIDC(oidc, ar(func(a *storage.AuthRequest) { a.ExpiresAt = now })), true, signin.RequestGone},
		{"a used OIDC request", withOIDC(oidc, ar(func(a *storage.AuthRequest) { a.UsedAt = now })), true, signin.RequestUsed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Check(ctx, tc.req, tc.fast)
			var ref *signin.Refusal
			switch {
			case tc.want == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != 0 && (!errors.As(err, &ref) || ref.Reason != tc.want):
				t.Fatalf("got %v, want reason %d", err, tc.want)
			}
		})
	}
}

func withOIDC(r signin.Request, ar *storage.AuthRequest) signin.Request {
	r.OIDC = ar
	return r
}
