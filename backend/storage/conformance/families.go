package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testFamilyAgedPastPurge: a sign-in kept alive by refresh rotation for
// longer than its code's own life is still found by every revocation
// (device, app, person) after the purge has run: revocation goes by
// family, and the code is kept while a token of its family lives.
func testFamilyAgedPastPurge(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice := seedUser(t, s, "alice")
	enrol(t, s, alice, "D1")
	app := seedApp(t, s, "wx-aged")
	c := storage.Code{Hash: h("code-aged"), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: alice.ID,
		DeviceID: "D1", Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC}
	must(t, putCode(ctx, s, c))
	must(t, s.RedeemCode(ctx, c.Hash, now, tokensFor(c, "aged-0")))

	// Forty days of daily refreshes, each token living two days, with the
	// server's purge running after each.
	at := now
	prev := h("rt-aged-0")
	for day := 1; day <= 40; day++ {
		at = now.Add(time.Duration(day) * 24 * time.Hour)
		next := agedTokens(c, fmt.Sprint("aged-", day), at)
		must(t, s.RotateToken(ctx, prev, at, next))
		prev = next[1].Hash
		_, err := s.Purge(ctx, storage.PurgeBefore{Expired: at, Codes: at.Add(-time.Hour), Events: at.Add(-24 * time.Hour)})
		must(t, err)
	}
	if _, err := s.GetCode(ctx, c.Hash); err != nil {
		t.Fatalf("the code of a living family was purged: %v", err)
	}
	must(t, s.RevokeDevice(ctx, "D1", at))
	for _, tag := range []string{"at-aged-40", "rt-aged-40"} {
		tk, err := s.GetToken(ctx, h(tag))
		must(t, err)
		if tk.RevokedAt.IsZero() {
			t.Fatalf("%s of a 40-day-old family survived its device's revocation", tag)
		}
	}
	wantErr(t, s.RotateToken(ctx, h("rt-aged-40"), at, agedTokens(c, "aged-x", at)), storage.ErrRevoked)

	// Once every token expired and was purged, code and family go too.
	later := at.Add(10 * 24 * time.Hour)
	_, err := s.Purge(ctx, storage.PurgeBefore{Expired: later, Codes: later})
	must(t, err)
	_, err = s.GetCode(ctx, c.Hash)
	wantErr(t, err, storage.ErrNotFound)

	// The same for an app's revocation, from a family whose code row was
	// deleted as a store before families had done.
	c2 := storage.Code{Hash: h("code-aged2"), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: alice.ID,
		DeviceID: "D1", Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC}
	must(t, putCode(ctx, s, c2))
	must(t, s.RedeemCode(ctx, c2.Hash, now, tokensFor(c2, "aged2")))
	must(t, s.RevokeGrant(ctx, alice.ID, app.AppID, now.Add(time.Minute)))
	for _, tag := range []string{"at-aged2", "rt-aged2"} {
		if tk, err := s.GetToken(ctx, h(tag)); err != nil || tk.RevokedAt.IsZero() {
			t.Fatalf("%s after the app's revocation: %+v %v", tag, tk, err)
		}
	}
}

func agedTokens(c storage.Code, tag string, at time.Time) []storage.Token {
	ts := tokensFor(c, tag)
	for i := range ts {
		ts[i].CreatedAt, ts[i].ExpiresAt = at, at.Add(48*time.Hour)
	}
	return ts
}

// testFamilyRevokeRace: a family's revocation and a rotation of its live
// refresh token race from two connections, many rounds; whatever order
// they end in, no token of the revoked family is left alive, and the
// losing rotation is ErrRevoked, never a false reuse. The same holds for
// tokens added without rotation (ExtendFamily) and for revocation by
// device.
func testFamilyRevokeRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice := seedUser(t, s, "alice")
	app := seedApp(t, s, "wx-race")
	const rounds = 30
	for i := range rounds {
		device := fmt.Sprint("R", i)
		enrol(t, s, alice, device)
		c := storage.Code{Hash: h(fmt.Sprint("code-race-", i)), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: alice.ID,
			DeviceID: device, Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC}
		must(t, putCode(ctx, s, c))
		first := tokensFor(c, fmt.Sprint("race-", i))
		must(t, s.RedeemCode(ctx, c.Hash, now, first))
		issued := tokensFor(c, fmt.Sprint("race-", i, "-next"))
		var revokeErr, rotateErr error
		var wg sync.WaitGroup
		wg.Go(func() {
			switch i % 3 {
			case 0:
				revokeErr = s.RevokeFamily(ctx, c.Hash, now.Add(time.Second))
			case 1:
				revokeErr = s.RevokeDevice(ctx, device, now.Add(time.Second))
			default:
				revokeErr = s.RevokeGrant(ctx, alice.ID, app.AppID, now.Add(time.Second))
			}
		})
		wg.Go(func() {
			if i%2 == 0 {
				rotateErr = s.RotateToken(ctx, first[1].Hash, now.Add(time.Second), issued)
			} else {
				rotateErr = s.ExtendFamily(ctx, first[1].Hash, now.Add(time.Second), issued[:1])
			}
		})
		wg.Wait()
		must(t, revokeErr)
		if rotateErr != nil && !errors.Is(rotateErr, storage.ErrRevoked) {
			t.Fatalf("round %d: rotation lost with %v, want ErrRevoked", i, rotateErr)
		}
		for _, tk := range append(first, issued...) {
			got, err := s.GetToken(ctx, tk.Hash)
			if errors.Is(err, storage.ErrNotFound) {
				continue // the rotation lost and stored nothing
			}
			must(t, err)
			if got.Live(now.Add(2 * time.Second)) {
				t.Fatalf("round %d: a token of the revoked family is alive: %s", i, got.Kind)
			}
		}
	}
}

// testAuthRequestOnce: an authorization request yields one code: it is
// consumed with the first sign-in, in the same transaction, and a second
// sign-in for it stores nothing.
func testAuthRequestOnce(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice := seedUser(t, s, "alice")
	app := seedApp(t, s, "wx-once")
	ar := storage.AuthRequest{ID: "req-once", ClientID: app.AppID, RedirectURI: "https://rp.example/cb", Scope: "openid", MaxAge: -1,
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	must(t, s.CreateAuthRequest(ctx, ar))
	code := func(i int) storage.Code {
		return storage.Code{Hash: h(fmt.Sprint("code-once-", i)), AppID: app.AppID, RedirectURI: ar.RedirectURI, UserID: alice.ID,
			Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC, AuthRequestID: ar.ID}
	}
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.CreateSignIn(ctx, code(i), storage.Event{UserID: alice.ID, Kind: "signin", CreatedAt: now})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, storage.ErrAlreadyUsed):
			if _, err := s.GetCode(ctx, code(i).Hash); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("a refused sign-in stored its code: %v", err)
			}
		default:
			t.Fatalf("sign-in %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d sign-ins of one request succeeded, want 1", won)
	}
	got, err := s.GetAuthRequest(ctx, ar.ID)
	must(t, err)
	if !got.UsedAt.Equal(now) {
		t.Fatalf("UsedAt = %v, want %v", got.UsedAt, now)
	}
	c := code(99)
	c.AuthRequestID = "req-unknown"
	wantErr(t, s.CreateSignIn(ctx, c, storage.Event{UserID: alice.ID, Kind: "signin", CreatedAt: now}), storage.ErrNotFound)
}

// testAppSignInOnce: a desktop app's first sign-in (consent, its event,
// code, sign-in event) is stored whole or not at all, and revoking the
// app withdraws the consent in the same step as its grant and tokens.
func testAppSignInOnce(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice := seedUser(t, s, "alice")
	enrol(t, s, alice, "AD")
	app := seedApp(t, s, "wx-app1")
	consent := storage.Consent{UserID: alice.ID, AppID: app.AppID, LoginAt: now}
	allowed := storage.Event{UserID: alice.ID, Kind: "app_allowed", AppID: app.AppID, DeviceID: "AD", Detail: "allowed", CreatedAt: now}
	code := func(name, device string) storage.Code {
		return storage.Code{Hash: h("code-" + name), AppID: app.AppID, UserID: alice.ID, DeviceID: device, Scope: "snsapi_base",
			CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceJSCode}
	}
	signin := storage.Event{UserID: alice.ID, Kind: "signin", AppID: app.AppID, DeviceID: "AD", Detail: "signed in", CreatedAt: now}

	// A failing part (an unknown device) stores nothing: no consent.
	wantErr(t, s.CreateAppSignIn(ctx, consent, allowed, code("bad", "nope"), signin), storage.ErrNotFound)
	_, err := s.GetConsent(ctx, alice.ID, app.AppID)
	wantErr(t, err, storage.ErrNotFound)
	if ev, _ := s.ListEvents(ctx, alice.ID, "app_allowed", 10); len(ev) != 0 {
		t.Fatalf("a failed first sign-in left its consent event: %+v", ev)
	}

	c := code("good", "AD")
	must(t, s.CreateAppSignIn(ctx, consent, allowed, c, signin))
	if _, err := s.GetConsent(ctx, alice.ID, app.AppID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCode(ctx, c.Hash); err != nil {
		t.Fatal(err)
	}
	must(t, s.SetSessionKey(ctx, alice.ID, app.AppID, []byte("sealed"), now))
	// Revoking the app withdraws the consent, session key included.
	must(t, s.RevokeGrant(ctx, alice.ID, app.AppID, now.Add(time.Minute)))
	_, err = s.GetConsent(ctx, alice.ID, app.AppID)
	wantErr(t, err, storage.ErrNotFound)
}
