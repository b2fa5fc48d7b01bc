package conformance

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testOIDCCode: an OpenID Connect code keeps its face, nonce, PKCE
// challenge, auth_time and amr; a public app keeps its flag.
func testOIDCCode(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "oidc")
	a := storage.App{AppID: "pub1", Name: "Native", Owner: "o", RedirectURIs: []string{"http://127.0.0.1/cb"}, Domains: []string{},
		Public: true, CreatedAt: now}
	must(t, s.CreateApp(ctx, a))
	got, err := s.GetApp(ctx, "pub1")
	must(t, err)
	if !got.Public || got.IDTokenAlg != "" || got.SecretHash != nil && len(got.SecretHash) != 0 {
		t.Fatalf("public app = %+v", got)
	}
	c := storage.Code{Hash: h("oidc-code"), AppID: a.AppID, RedirectURI: "http://127.0.0.1/cb", UserID: u.ID, Scope: "openid profile",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute), Face: storage.FaceOIDC, Nonce: "n-0S6", CodeChallenge: "E9Melhoa2Owv",
		AuthTime: now.Add(-time.Minute), AMR: []string{"swk", "user"}}
	must(t, s.CreateSignIn(ctx, c, storage.Event{UserID: u.ID, Kind: "signin", AppID: a.AppID, CreatedAt: now}))
	gc, err := s.GetCode(ctx, c.Hash)
	must(t, err)
	if fmt.Sprint(gc) != fmt.Sprint(c) {
		t.Fatalf("GetCode = %+v, want %+v", gc, c)
	}
	issued := tokensFor(c, "oidc")
	must(t, s.RedeemCode(ctx, c.Hash, now, issued))
	tok, err := s.GetToken(ctx, issued[1].Hash)
	must(t, err)
	if tok.Face != storage.FaceOIDC {
		t.Fatalf("token face = %q, want oidc", tok.Face)
	}
}

// testRotateToken: a rotated token cannot be rotated again, and its
// successors descend from the same code, so that a family can be revoked.
func testRotateToken(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := seedCode(t, s, "rot")
	first := tokensFor(c, "rot1")
	must(t, s.RedeemCode(ctx, c.Hash, now, first))
	next := tokensFor(c, "rot2")
	must(t, s.RotateToken(ctx, first[1].Hash, now.Add(time.Second), next))
	old, err := s.GetToken(ctx, first[1].Hash)
	must(t, err)
	if !old.RotatedAt.Equal(now.Add(time.Second)) || !old.RevokedAt.IsZero() || old.Live(now) {
		t.Fatalf("rotated token: RotatedAt %v RevokedAt %v (rotated is not revoked)", old.RotatedAt, old.RevokedAt)
	}
	wantErr(t, s.RotateToken(ctx, first[1].Hash, now.Add(2*time.Second), tokensFor(c, "rot3")), storage.ErrAlreadyUsed)
	_, err = s.GetToken(ctx, h("rt-rot3"))
	wantErr(t, err, storage.ErrNotFound) // the refused rotation stored nothing
	wantErr(t, s.RotateToken(ctx, h("missing"), now, nil), storage.ErrNotFound)

	must(t, s.RevokeFamily(ctx, c.Hash, now.Add(time.Minute)))
	for _, tk := range next {
		got, err := s.GetToken(ctx, tk.Hash)
		must(t, err)
		if got.RevokedAt.IsZero() {
			t.Fatal("revoking the code's family left a rotated successor alive")
		}
	}
	// A revoked family is not a reuse: rotating or extending it again
	// is ErrRevoked, whether the token was rotated before or not.
	wantErr(t, s.RotateToken(ctx, next[1].Hash, now.Add(2*time.Minute), tokensFor(c, "rot4")), storage.ErrRevoked)
	wantErr(t, s.RotateToken(ctx, first[1].Hash, now.Add(2*time.Minute), tokensFor(c, "rot5")), storage.ErrRevoked)
	wantErr(t, s.ExtendFamily(ctx, next[1].Hash, now.Add(2*time.Minute), tokensFor(c, "rot6")[:1]), storage.ErrRevoked)
	at := tokensFor(seedCode(t, s, "rev"), "rev")[0]
	must(t, s.CreateToken(ctx, at))
	must(t, s.RevokeToken(ctx, at.Hash, now))
	must(t, s.RevokeToken(ctx, at.Hash, now.Add(time.Second))) // twice is fine
	got, err := s.GetToken(ctx, at.Hash)
	must(t, err)
	if !got.RevokedAt.Equal(now) {
		t.Fatalf("RevokedAt = %v, want the first revocation", got.RevokedAt)
	}
}

// testRotateRace: of concurrent rotations of one token exactly one wins.
func testRotateRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := seedCode(t, s, "rr")
	first := tokensFor(c, "rr")
	must(t, s.RedeemCode(ctx, c.Hash, now, first))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.RotateToken(ctx, first[1].Hash, now, tokensFor(c, fmt.Sprint("rr-", i))) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		default:
			wantErr(t, err, storage.ErrAlreadyUsed)
		}
	}
	if won != 1 {
		t.Fatalf("%d rotations won, want 1", won)
	}
}

func testAuthRequests(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	ar := storage.AuthRequest{ID: "req1", ClientID: "wx1", RedirectURI: "https://rp.example/cb", Scope: "openid profile", State: "st",
		Nonce: "n", CodeChallenge: "ch", Prompt: "login", MaxAge: -1, LoginHint: "alice", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	must(t, s.CreateAuthRequest(ctx, ar))
	wantErr(t, s.CreateAuthRequest(ctx, ar), storage.ErrAlreadyExists)
	got, err := s.GetAuthRequest(ctx, "req1")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(ar) {
		t.Fatalf("GetAuthRequest = %+v, want %+v", got, ar)
	}
	_, err = s.GetAuthRequest(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound)
	if _, err := s.Purge(ctx, storage.PurgeBefore{Expired: now.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAuthRequest(ctx, "req1")
	wantErr(t, err, storage.ErrNotFound)
}

func testSigningKeys(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	k1 := storage.SigningKey{KID: "k1", Alg: "RS256", Sealed: []byte{1, 2, 3}, Public: []byte(`{"kty":"RSA"}`), CreatedAt: now, SignFrom: now}
	k2 := storage.SigningKey{KID: "k2", Alg: "ES256", Sealed: []byte{4}, Public: []byte(`{"kty":"EC"}`), CreatedAt: now.Add(time.Second), SignFrom: now.Add(time.Hour),
		TokenTTL: 2 * time.Hour}
	must(t, s.CreateSigningKey(ctx, k2))
	must(t, s.CreateSigningKey(ctx, k1))
	wantErr(t, s.CreateSigningKey(ctx, k1), storage.ErrAlreadyExists)
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	if fmt.Sprint(keys) != fmt.Sprint([]storage.SigningKey{k1, k2}) {
		t.Fatalf("ListSigningKeys = %+v", keys)
	}
	must(t, s.DeleteSigningKey(ctx, "k1"))
	must(t, s.DeleteSigningKey(ctx, "k1"))
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 1 || keys[0].KID != "k2" {
		t.Fatalf("after delete: %+v", keys)
	}

	// The servers' token lifetime only ever grows on the keys.
	must(t, s.RaiseTokenTTL(ctx, time.Hour))
	must(t, s.RaiseTokenTTL(ctx, 3*time.Hour))
	must(t, s.RaiseTokenTTL(ctx, time.Hour))
	if keys, err = s.ListSigningKeys(ctx); err != nil || keys[0].TokenTTL != 3*time.Hour {
		t.Fatalf("after RaiseTokenTTL: %+v %v", keys, err)
	}

	// The first key of an algorithm is stored once, however many replicas
	// starting together try.
	var wg sync.WaitGroup
	stored := make([]bool, 6)
	errs := make([]error, 6)
	for i := range 6 {
		wg.Go(func() {
			stored[i], errs[i] = s.CreateFirstSigningKey(ctx, storage.SigningKey{KID: fmt.Sprint("first-", i), Alg: "RS256", Sealed: []byte{1},
				Public: []byte(`{}`), CreatedAt: now, SignFrom: now})
		})
	}
	wg.Wait()
	n := 0
	for i := range 6 {
		must(t, errs[i])
		if stored[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d first RS256 keys stored, want 1", n)
	}
	if ok, err := s.CreateFirstSigningKey(ctx, storage.SigningKey{KID: "es-again", Alg: "ES256", Sealed: []byte{1}, Public: []byte(`{}`)}); err != nil || ok {
		t.Fatalf("a first ES256 key beside k2: stored %v, %v", ok, err)
	}
}

// testConsents: a desktop app's consent keeps its session key across
// updates; a withdrawn one takes its key and refuses a new one.
func testConsents(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	_, err := s.GetConsent(ctx, "u1", "wxa")
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.SetSessionKey(ctx, "u1", "wxa", []byte("k"), now), storage.ErrNotFound)
	must(t, s.PutConsent(ctx, storage.Consent{UserID: "u1", AppID: "wxa", LoginAt: now}))
	must(t, s.SetSessionKey(ctx, "u1", "wxa", []byte("sealed-1"), now.Add(time.Second)))
	must(t, s.PutConsent(ctx, storage.Consent{UserID: "u1", AppID: "wxa", LoginAt: now, PhoneAt: now.Add(2 * time.Second)}))
	must(t, s.PutConsent(ctx, storage.Consent{UserID: "u1", AppID: "wxb", LoginAt: now.Add(time.Minute)}))
	must(t, s.PutConsent(ctx, storage.Consent{UserID: "u2", AppID: "wxa", LoginAt: now}))
	c, err := s.GetConsent(ctx, "u1", "wxa")
	must(t, err)
	want := storage.Consent{UserID: "u1", AppID: "wxa", LoginAt: now, PhoneAt: now.Add(2 * time.Second), SessionKey: []byte("sealed-1"), SessionAt: now.Add(time.Second)}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("GetConsent = %+v, want %+v", c, want)
	}
	all, err := s.ListConsents(ctx, "u1")
	must(t, err)
	if len(all) != 2 || all[0].AppID != "wxa" || all[1].AppID != "wxb" {
		t.Fatalf("ListConsents = %+v", all)
	}
	must(t, s.DeleteConsent(ctx, "u1", "wxa"))
	must(t, s.DeleteConsent(ctx, "u1", "wxa"))
	_, err = s.GetConsent(ctx, "u1", "wxa")
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.SetSessionKey(ctx, "u1", "wxa", []byte("k2"), now), storage.ErrNotFound)
	if _, err := s.GetConsent(ctx, "u2", "wxa"); err != nil {
		t.Fatal("withdrawing one person's consent took another's")
	}
}
