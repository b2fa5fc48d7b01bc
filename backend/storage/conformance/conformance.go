// Package conformance is the test suite every storage.Storage implementation
// must pass. An implementation's test calls RunTests with a constructor that
// returns a fresh, empty store.
package conformance

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// RunTests runs the whole suite. newStore is called once per subtest and
// must return an empty store; RunTests closes it.
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Storage) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Storage)
	}{
		{"Users", testUsers},
		{"Apps", testApps},
		{"DeviceFlow", testDeviceFlow},
		{"DeviceRevoke", testDeviceRevoke},
		{"Codes", testCodes},
		{"SignIn", testSignIn},
		{"CodeRace", testCodeRace},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Events", testEvents},
		{"Secret", testSecret},
		{"ConcurrentWrites", testConcurrentWrites},
		{"DevicePollRace", testDevicePollRace},
		{"Tickets", testTickets},
		{"TicketRace", testTicketRace},
		{"TicketWatch", testTicketWatch},
		{"Attempts", testAttempts},
		{"AttemptRace", testAttemptRace},
		{"Purge", testPurge},
		{"OIDCCode", testOIDCCode},
		{"RotateToken", testRotateToken},
		{"RotateRace", testRotateRace},
		{"AuthRequests", testAuthRequests},
		{"SigningKeys", testSigningKeys},
		{"Consents", testConsents},
		{"FamilyAgedPastPurge", testFamilyAgedPastPurge},
		{"FamilyRevokeRace", testFamilyRevokeRace},
		{"AuthRequestOnce", testAuthRequestOnce},
		{"AppSignInOnce", testAppSignInOnce},
		{"DisableUser", testDisableUser},
		{"Delete", testDelete},
		{"SessionLists", testSessionLists},
		{"EventQuery", testEventQuery},
		{"AppFence", testAppFence},
		{"Profile", testProfile},
		{"Webhooks", testWebhooks},
		{"PasswordReset", testPasswordReset},
		{"DeviceCapRace", testDeviceCapRace},
		{"Identities", testIdentities},
		{"Factors", testFactors},
		{"Passkeys", testPasskeys},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tt.run(t, s)
		})
	}
}

// now is truncated to the millisecond every store must keep.
var now = time.Now().Truncate(time.Millisecond)

func h(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func seedUser(t *testing.T, s storage.Storage, name string) storage.User {
	t.Helper()
	u := storage.User{ID: "u-" + name, Username: name, Nickname: "Nick " + name, AvatarURL: "https://a.example/" + name,
		PasswordHash: "$argon2id$x", PhoneSealed: []byte("sealed-" + name), CreatedAt: now}
	must(t, s.CreateUser(context.Background(), u))
	return u
}

func seedApp(t *testing.T, s storage.Storage, id string) storage.App {
	t.Helper()
	a := storage.App{AppID: id, Name: "App " + id, IconURL: "https://i.example/" + id, Owner: "owner1",
		SecretHash: h("secret-" + id), RedirectURIs: []string{"https://rp.example/cb", "https://rp.example/cb2?x=1"},
		Domains: []string{"rp.example"}, FastLogin: true, IDTokenAlg: "ES256", CreatedAt: now}
	must(t, s.CreateApp(context.Background(), a))
	return a
}

func testUsers(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	seedUser(t, s, "bob")
	got, err := s.GetUser(ctx, u.ID)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(u) {
		t.Fatalf("GetUser = %+v, want %+v", got, u)
	}
	got, err = s.GetUserByUsername(ctx, "alice")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(u) {
		t.Fatalf("GetUserByUsername = %+v, want %+v", got, u)
	}
	dup := u
	dup.ID = "u-other"
	wantErr(t, s.CreateUser(ctx, dup), storage.ErrAlreadyExists)
	_, err = s.GetUser(ctx, "nobody")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "nobody")
	wantErr(t, err, storage.ErrNotFound)
	all, err := s.ListUsers(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Username != "alice" || all[1].Username != "bob" {
		t.Fatalf("ListUsers = %+v", all)
	}
}

func testApps(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a := seedApp(t, s, "wx1")
	b := storage.App{AppID: "wx2", Name: "QR only", Owner: "o2", SecretHash: h("s2"), CreatedAt: now.Add(time.Second)}
	must(t, s.CreateApp(ctx, b))
	got, err := s.GetApp(ctx, "wx1")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(a) {
		t.Fatalf("GetApp = %+v, want %+v", got, a)
	}
	got, err = s.GetApp(ctx, "wx2")
	must(t, err)
	if got.FastLogin || len(got.RedirectURIs) != 0 || len(got.Domains) != 0 {
		t.Fatalf("GetApp(wx2) = %+v", got)
	}
	wantErr(t, s.CreateApp(ctx, a), storage.ErrAlreadyExists)
	_, err = s.GetApp(ctx, "missing")
	wantErr(t, err, storage.ErrNotFound)
	all, err := s.ListApps(ctx)
	must(t, err)
	if len(all) != 2 || all[0].AppID != "wx1" {
		t.Fatalf("ListApps = %+v", all)
	}

	// An operator edits an app: every mutable field round-trips.
	e := a
	e.Name, e.IconURL, e.Owner, e.RedirectURIs, e.Domains = "Renamed", "https://i.example/new", "owner2", []string{"https://rp.example/new"}, nil
	e.FastLogin, e.Public, e.IDTokenAlg = false, true, "RS256"
	e.OldSecretHash, e.SecretHash, e.OldSecretUntil, e.DisabledAt = a.SecretHash, h("rotated"), now.Add(24*time.Hour), now.Add(time.Minute)
	must(t, s.UpdateApp(ctx, e))
	got, err = s.GetApp(ctx, "wx1")
	must(t, err)
	e.Domains = []string{}
	if fmt.Sprint(got) != fmt.Sprint(e) {
		t.Fatalf("after UpdateApp: %+v, want %+v", got, e)
	}
	if got.Active() || !got.SecretMatches(h("secret-wx1"), now, bytesEqual) || got.SecretMatches(h("secret-wx1"), now.Add(25*time.Hour), bytesEqual) ||
		!got.SecretMatches(h("rotated"), now.Add(25*time.Hour), bytesEqual) {
		t.Fatalf("rotated secret or disabled flag: %+v", got)
	}
	wantErr(t, s.UpdateApp(ctx, storage.App{AppID: "missing"}), storage.ErrNotFound)
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func seedCode(t *testing.T, s storage.Storage, name string) storage.Code {
	t.Helper()
	u := seedUser(t, s, "alice-"+name)
	a := seedApp(t, s, "wx-"+name)
	c := storage.Code{Hash: h("code-" + name), AppID: a.AppID, RedirectURI: "https://rp.example/cb", UserID: u.ID,
		Scope: "snsapi_login", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceWeChat}
	must(t, putCode(context.Background(), s, c))
	return c
}

// putCode stores c as a sign-in does, with the grant and an audit event.
func putCode(ctx context.Context, s storage.Storage, c storage.Code) error {
	return s.CreateSignIn(ctx, c, storage.Event{UserID: c.UserID, Kind: "signin", AppID: c.AppID, DeviceID: c.DeviceID, Detail: "test", CreatedAt: c.CreatedAt})
}

func tokensFor(c storage.Code, tag string) []storage.Token {
	return []storage.Token{
		{Hash: h("at-" + tag), Kind: storage.AccessToken, AppID: c.AppID, UserID: c.UserID, CodeHash: c.Hash, Scope: c.Scope, CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour), Face: c.Face},
		{Hash: h("rt-" + tag), Kind: storage.RefreshToken, AppID: c.AppID, UserID: c.UserID, CodeHash: c.Hash, Scope: c.Scope, CreatedAt: now, ExpiresAt: now.Add(720 * time.Hour), Face: c.Face},
	}
}

func testCodes(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := seedCode(t, s, "1")
	wantErr(t, putCode(ctx, s, c), storage.ErrAlreadyExists)
	got, err := s.GetCode(ctx, c.Hash)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("GetCode = %+v, want %+v", got, c)
	}
	grants, err := s.ListGrants(ctx, c.UserID)
	must(t, err)
	if len(grants) != 1 || grants[0].AppID != c.AppID || grants[0].Scope != "snsapi_login" {
		t.Fatalf("ListGrants = %+v", grants)
	}
	must(t, s.RedeemCode(ctx, c.Hash, now.Add(time.Second), tokensFor(c, "1")))
	wantErr(t, s.RedeemCode(ctx, c.Hash, now.Add(2*time.Second), tokensFor(c, "2")), storage.ErrAlreadyUsed)
	_, err = s.GetToken(ctx, h("at-2"))
	wantErr(t, err, storage.ErrNotFound) // the losing redeem stored nothing
	got, err = s.GetCode(ctx, c.Hash)
	must(t, err)
	if !got.UsedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("UsedAt = %v", got.UsedAt)
	}
	wantErr(t, s.RedeemCode(ctx, h("missing"), now, nil), storage.ErrNotFound)
	_, err = s.GetCode(ctx, h("missing"))
	wantErr(t, err, storage.ErrNotFound)

	must(t, s.RevokeFamily(ctx, c.Hash, now.Add(time.Minute)))
	for _, name := range []string{"at-1", "rt-1"} {
		tok, err := s.GetToken(ctx, h(name))
		must(t, err)
		if tok.RevokedAt.IsZero() {
			t.Fatalf("%s not revoked", name)
		}
	}
}

// testSignIn: a sign-in's code, grant, device touch and audit event are
// stored together, or not at all.
func testSignIn(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice-signin")
	a := seedApp(t, s, "wx-signin")
	d := enrol(t, s, u, "D-signin")
	at := now.Add(time.Hour)
	c := storage.Code{Hash: h("code-signin"), AppID: a.AppID, RedirectURI: "https://rp.example/cb", UserID: u.ID,
		DeviceID: d.ID, Scope: "snsapi_login", CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute), ACR: "urn:scanfree:acr:key:tpm"}
	e := storage.Event{UserID: u.ID, Kind: "signin", AppID: a.AppID, DeviceID: d.ID, Detail: "Signed in", CreatedAt: at, Addr: "2001:db8::7"}
	must(t, s.CreateSignIn(ctx, c, e))
	got, err := s.GetCode(ctx, c.Hash)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("GetCode = %+v, want %+v", got, c)
	}
	dev, err := s.GetDevice(ctx, d.ID)
	must(t, err)
	if !dev.LastSeenAt.Equal(at) || dev.LastAddr != "2001:db8::7" {
		t.Fatalf("device last seen %v from %q, want %v from 2001:db8::7", dev.LastSeenAt, dev.LastAddr, at)
	}
	if grants, err := s.ListGrants(ctx, u.ID); err != nil || len(grants) != 1 || grants[0].AppID != a.AppID {
		t.Fatalf("ListGrants = %+v, %v", grants, err)
	}
	events := func() int {
		ev, err := s.ListEvents(ctx, u.ID, "signin", 10)
		must(t, err)
		return len(ev)
	}
	if n := events(); n != 1 {
		t.Fatalf("%d signin events, want 1", n)
	}

	// The same code again: refused, and no second event.
	wantErr(t, s.CreateSignIn(ctx, c, e), storage.ErrAlreadyExists)
	// An unknown device: refused, and neither the code nor the event stay.
	c2 := c
	c2.Hash, c2.DeviceID = h("code-signin-2"), "no-such-device"
	wantErr(t, s.CreateSignIn(ctx, c2, e), storage.ErrNotFound)
	_, err = s.GetCode(ctx, c2.Hash)
	wantErr(t, err, storage.ErrNotFound)
	if n := events(); n != 1 {
		t.Fatalf("%d signin events after two refused sign-ins, want 1", n)
	}
	// No device (a phone confirmed a QR code): code and event, nothing touched.
	c3 := c
	c3.Hash, c3.DeviceID = h("code-signin-3"), ""
	must(t, s.CreateSignIn(ctx, c3, e))
	if n := events(); n != 2 {
		t.Fatalf("%d signin events, want 2", n)
	}
	// A sign-in whose event has no address keeps the last one known.
	c4, e4 := c, e
	c4.Hash, c4.CreatedAt, e4.Addr = h("code-signin-4"), at.Add(time.Minute), ""
	must(t, s.CreateSignIn(ctx, c4, e4))
	if dev, err := s.GetDevice(ctx, d.ID); err != nil || !dev.LastSeenAt.Equal(c4.CreatedAt) || dev.LastAddr != "2001:db8::7" {
		t.Fatalf("after a sign-in without an address: %+v, %v", dev, err)
	}
}

func testCodeRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := seedCode(t, s, "race")
	var wins, used atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.RedeemCode(ctx, c.Hash, now, tokensFor(c, fmt.Sprint("race", i)))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, storage.ErrAlreadyUsed):
				used.Add(1)
			default:
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != 99 {
		t.Fatalf("wins=%d used=%d, want 1 and 99", wins.Load(), used.Load())
	}
}

func testTokens(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	c := seedCode(t, s, "tok")
	tok := tokensFor(c, "x")[0]
	must(t, s.CreateToken(ctx, tok))
	wantErr(t, s.CreateToken(ctx, tok), storage.ErrAlreadyExists)
	got, err := s.GetToken(ctx, tok.Hash)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(tok) {
		t.Fatalf("GetToken = %+v, want %+v", got, tok)
	}
	_, err = s.GetToken(ctx, h("nope"))
	wantErr(t, err, storage.ErrNotFound)

	// GetAccess reads the same token with its user and app.
	acc, err := s.GetAccess(ctx, tok.Hash)
	must(t, err)
	user, err := s.GetUser(ctx, c.UserID)
	must(t, err)
	app, err := s.GetApp(ctx, c.AppID)
	must(t, err)
	if fmt.Sprint(acc.Token) != fmt.Sprint(tok) || fmt.Sprint(acc.User) != fmt.Sprint(user) || fmt.Sprint(acc.App) != fmt.Sprint(app) {
		t.Fatalf("GetAccess = %+v, want %+v, %+v, %+v", acc, tok, user, app)
	}
	_, err = s.GetAccess(ctx, h("nope"))
	wantErr(t, err, storage.ErrNotFound)
}

func testSessions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	se := storage.Session{Hash: h("sess"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Method: "passkey"}
	must(t, s.CreateSession(ctx, se))
	got, err := s.GetSession(ctx, se.Hash)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(se) {
		t.Fatalf("GetSession = %+v, want %+v", got, se)
	}
	must(t, s.DeleteSession(ctx, se.Hash))
	_, err = s.GetSession(ctx, se.Hash)
	wantErr(t, err, storage.ErrNotFound)
}

func testEvents(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	for i := range 5 {
		kind := "signin"
		if i%2 == 1 {
			kind = "login"
		}
		must(t, s.AddEvent(ctx, storage.Event{UserID: "u1", Kind: kind, AppID: "wx", Detail: fmt.Sprint(i), CreatedAt: now}))
	}
	must(t, s.AddEvent(ctx, storage.Event{UserID: "u2", Kind: "signin", CreatedAt: now}))
	all, err := s.ListEvents(ctx, "u1", "", 10)
	must(t, err)
	if len(all) != 5 || all[0].Detail != "4" || all[4].Detail != "0" {
		t.Fatalf("ListEvents(all) = %+v", all)
	}
	signins, err := s.ListEvents(ctx, "u1", "signin", 2)
	must(t, err)
	if len(signins) != 2 || signins[0].Detail != "4" || signins[1].Detail != "2" {
		t.Fatalf("ListEvents(signin, 2) = %+v", signins)
	}
	everyone, err := s.ListEvents(ctx, "", "", 100)
	must(t, err)
	mine, err := s.ListEvents(ctx, "u1", "", 100)
	must(t, err)
	if len(everyone) < len(mine) || len(mine) == 0 {
		t.Fatalf("ListEvents(everyone) = %d events, ListEvents(u1) = %d", len(everyone), len(mine))
	}
}

func testSecret(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	v1, err := s.Secret(ctx, "openid", []byte("first"))
	must(t, err)
	v2, err := s.Secret(ctx, "openid", []byte("second"))
	must(t, err)
	if string(v1) != "first" || string(v2) != "first" {
		t.Fatalf("Secret = %q, %q; want the first value twice", v1, v2)
	}
	if v, err := s.Secret(ctx, "openid", nil); err != nil || string(v) != "first" {
		t.Fatalf("Secret(nil) = %q, %v; want a read of the stored value", v, err)
	}
	_, err = s.Secret(ctx, "never", nil)
	wantErr(t, err, storage.ErrNotFound)
	must(t, s.DeleteSecret(ctx, "openid"))
	must(t, s.DeleteSecret(ctx, "openid"))
	_, err = s.Secret(ctx, "openid", nil)
	wantErr(t, err, storage.ErrNotFound)
}

// testConcurrentWrites mixes failing and succeeding writes at once: each
// succeeds or fails on its own merits, whatever it was committed with.
func testConcurrentWrites(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	var ok, dup atomic.Int32
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Users 0..99 each created twice: one of each pair must fail.
			n := i % 100
			err := s.CreateUser(ctx, storage.User{ID: fmt.Sprintf("id-%d-%d", n, i), Username: fmt.Sprintf("user%03d", n),
				Nickname: "n", PasswordHash: "x", CreatedAt: now})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, storage.ErrAlreadyExists):
				dup.Add(1)
			default:
				t.Errorf("create user: %v", err)
			}
		}()
	}
	wg.Wait()
	users, err := s.ListUsers(ctx)
	must(t, err)
	if ok.Load() != 100 || dup.Load() != 100 || len(users) != 100 {
		t.Fatalf("%d created, %d duplicates, %d stored; want 100 each", ok.Load(), dup.Load(), len(users))
	}
}
