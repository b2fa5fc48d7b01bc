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
}

func testDeviceFlow(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	da := storage.DeviceAuth{DeviceCodeHash: h("dc1"), UserCode: "BCDFGHJK", ClientID: "scanfree-desktop",
		DeviceName: "laptop", OS: "linux", RequestIP: "203.0.113.9", Status: storage.DeviceAuthPending, Interval: 5 * time.Second,
		CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	must(t, s.CreateDeviceAuth(ctx, da))
	dup := da
	dup.DeviceCodeHash = h("dc-other")
	wantErr(t, s.CreateDeviceAuth(ctx, dup), storage.ErrAlreadyExists) // user_code is unique

	got, err := s.GetDeviceAuthByUserCode(ctx, "BCDFGHJK")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(da) {
		t.Fatalf("GetDeviceAuthByUserCode = %+v, want %+v", got, da)
	}
	polls := []struct {
		at       time.Duration
		slow     bool
		interval time.Duration
	}{
		{time.Second, false, 5 * time.Second},       // the first poll is never too fast
		{3 * time.Second, true, 10 * time.Second},   // 2 s later: slow_down, 5 s more
		{14 * time.Second, false, 10 * time.Second}, // 11 s later, interval 10 s: in time
		{30 * time.Second, false, 10 * time.Second},
	}
	for i, p := range polls {
		slow, iv, err := s.PollDeviceAuth(ctx, da.DeviceCodeHash, now.Add(p.at), 5*time.Second)
		must(t, err)
		if slow != p.slow || iv != p.interval {
			t.Fatalf("poll %d at +%s: slow=%v interval=%s, want %v %s", i, p.at, slow, iv, p.slow, p.interval)
		}
	}
	got, err = s.GetDeviceAuth(ctx, da.DeviceCodeHash)
	must(t, err)
	if !got.LastPollAt.Equal(now.Add(30*time.Second)) || got.Interval != 10*time.Second {
		t.Fatalf("after polls: %+v", got)
	}
	_, _, err = s.PollDeviceAuth(ctx, h("nope"), now, time.Second)
	wantErr(t, err, storage.ErrNotFound)

	d := storage.Device{ID: "d1", UserID: u.ID, Name: "laptop", OS: "linux", CredentialHash: h("cred1"), CreatedAt: now, LastSeenAt: now}
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, d), storage.ErrNotPending) // not approved yet
	must(t, s.DecideDeviceAuth(ctx, "BCDFGHJK", u.ID, true))
	wantErr(t, s.DecideDeviceAuth(ctx, "BCDFGHJK", u.ID, false), storage.ErrNotPending)
	wantErr(t, s.DecideDeviceAuth(ctx, "ZZZZZZZZ", u.ID, true), storage.ErrNotFound)

	wrongUser := d
	wrongUser.UserID = "u-mallory"
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, wrongUser), storage.ErrNotPending)
	must(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, d))
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, storage.Device{ID: "d2", UserID: u.ID, CredentialHash: h("cred2")}), storage.ErrNotPending)
	got, err = s.GetDeviceAuth(ctx, da.DeviceCodeHash)
	must(t, err)
	if got.Status != storage.DeviceAuthConsumed || got.DeviceID != "d1" || got.UserID != u.ID {
		t.Fatalf("after completion: %+v", got)
	}
	dev, err := s.GetDeviceByCredential(ctx, h("cred1"))
	must(t, err)
	if fmt.Sprint(dev) != fmt.Sprint(d) || !dev.Active() {
		t.Fatalf("GetDeviceByCredential = %+v, want %+v", dev, d)
	}

	// A denied authorization never yields a device.
	da2 := da
	da2.DeviceCodeHash, da2.UserCode = h("dc2"), "CDFGHJKL"
	must(t, s.CreateDeviceAuth(ctx, da2))
	must(t, s.DecideDeviceAuth(ctx, "CDFGHJKL", u.ID, false))
	got, err = s.GetDeviceAuth(ctx, da2.DeviceCodeHash)
	must(t, err)
	if got.Status != storage.DeviceAuthDenied {
		t.Fatalf("denied status = %s", got.Status)
	}
	wantErr(t, s.CompleteDeviceAuth(ctx, da2.DeviceCodeHash, storage.Device{ID: "d3", UserID: u.ID, CredentialHash: h("cred3")}), storage.ErrNotPending)
	_, err = s.GetDevice(ctx, "d3")
	wantErr(t, err, storage.ErrNotFound)
}

func enrol(t *testing.T, s storage.Storage, u storage.User, id string) storage.Device {
	t.Helper()
	ctx := context.Background()
	code := fmt.Sprintf("%-8.8s", id+"XXXXXXXX")
	must(t, s.CreateDeviceAuth(ctx, storage.DeviceAuth{DeviceCodeHash: h("dc-" + id), UserCode: code, ClientID: "c",
		Status: storage.DeviceAuthPending, Interval: time.Second, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	must(t, s.DecideDeviceAuth(ctx, code, u.ID, true))
	d := storage.Device{ID: id, UserID: u.ID, Name: "n-" + id, OS: "linux", CredentialHash: h("cred-" + id), CreatedAt: now, LastSeenAt: now}
	must(t, s.CompleteDeviceAuth(ctx, h("dc-"+id), d))
	return d
}

func testDeviceRevoke(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice, bob := seedUser(t, s, "alice"), seedUser(t, s, "bob")
	enrol(t, s, alice, "A1")
	enrol(t, s, alice, "A2")
	enrol(t, s, bob, "B1")
	ds, err := s.ListDevices(ctx, alice.ID)
	must(t, err)
	if len(ds) != 2 {
		t.Fatalf("ListDevices(alice) = %d devices, want 2", len(ds))
	}
	ds, err = s.ListDevices(ctx, "")
	must(t, err)
	if len(ds) != 3 {
		t.Fatalf("ListDevices(all) = %d devices, want 3", len(ds))
	}
	must(t, s.RevokeDevice(ctx, "A1", now.Add(time.Minute)))
	must(t, s.RevokeDevice(ctx, "A1", now.Add(2*time.Minute))) // idempotent, keeps the first time
	d, err := s.GetDevice(ctx, "A1")
	must(t, err)
	if d.Active() || !d.RevokedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("revoked device = %+v", d)
	}
	wantErr(t, s.RevokeDevice(ctx, "nope", now), storage.ErrNotFound)

	// Revoking an app takes back the user's grant, pending codes and
	// tokens for it, and nothing of another app's.
	appA, appB := seedApp(t, s, "wx-ga"), seedApp(t, s, "wx-gb")
	for _, a := range []storage.App{appA, appB} {
		c := storage.Code{Hash: h("code-g-" + a.AppID), AppID: a.AppID, RedirectURI: "https://rp.example/cb", UserID: bob.ID,
			DeviceID: "B1", Scope: "snsapi_login", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		must(t, putCode(ctx, s, c)) // records the grant too
		must(t, s.RedeemCode(ctx, c.Hash, now, tokensFor(c, "g-"+a.AppID)))
	}
	pendingA := storage.Code{Hash: h("code-g-pending"), AppID: appA.AppID, RedirectURI: "https://rp.example/cb", UserID: bob.ID,
		DeviceID: "B1", Scope: "snsapi_login", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	must(t, putCode(ctx, s, pendingA))
	must(t, s.RevokeGrant(ctx, bob.ID, appA.AppID, now.Add(time.Minute)))
	must(t, s.RevokeGrant(ctx, bob.ID, "wx-never", now.Add(time.Minute)))
	grants, err := s.ListGrants(ctx, bob.ID)
	must(t, err)
	if len(grants) != 1 || grants[0].AppID != appB.AppID {
		t.Fatalf("grants after revoking app A: %+v", grants)
	}
	_, err = s.GetCode(ctx, pendingA.Hash)
	wantErr(t, err, storage.ErrNotFound)
	if tk, err := s.GetToken(ctx, h("at-g-"+appA.AppID)); err != nil || tk.RevokedAt.IsZero() {
		t.Fatalf("app A's token: %+v %v", tk, err)
	}
	if tk, err := s.GetToken(ctx, h("rt-g-"+appB.AppID)); err != nil || !tk.RevokedAt.IsZero() {
		t.Fatalf("app B's token: %+v %v", tk, err)
	}

	// What a device issued goes with it; another device's stays.
	a := seedApp(t, s, "wx-rev")
	code := func(name, device string) storage.Code {
		c := storage.Code{Hash: h("code-" + name), AppID: a.AppID, RedirectURI: "https://rp.example/cb", UserID: alice.ID,
			DeviceID: device, Scope: "snsapi_login", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		must(t, putCode(ctx, s, c))
		return c
	}
	pending, redeemed, other := code("pending", "A2"), code("redeemed", "A2"), code("other", "B1")
	must(t, s.RedeemCode(ctx, redeemed.Hash, now, tokensFor(redeemed, "A2")))
	must(t, s.RedeemCode(ctx, other.Hash, now, tokensFor(other, "B1")))
	must(t, s.RevokeDevice(ctx, "A2", now.Add(time.Minute)))
	_, err = s.GetCode(ctx, pending.Hash)
	wantErr(t, err, storage.ErrNotFound)
	if _, err := s.GetCode(ctx, redeemed.Hash); err != nil {
		t.Fatalf("a redeemed code must stay, so that its replay is still caught: %v", err)
	}
	for _, tag := range []string{"at-A2", "rt-A2"} {
		if tk, err := s.GetToken(ctx, h(tag)); err != nil || tk.RevokedAt.IsZero() {
			t.Fatalf("token %s of the revoked device: %+v %v", tag, tk, err)
		}
	}
	for _, tag := range []string{"at-B1", "rt-B1"} {
		if tk, err := s.GetToken(ctx, h(tag)); err != nil || !tk.RevokedAt.IsZero() {
			t.Fatalf("token %s of another device: %+v %v", tag, tk, err)
		}
	}
}

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
		DeviceID: d.ID, Scope: "snsapi_login", CreatedAt: at, ExpiresAt: at.Add(5 * time.Minute)}
	e := storage.Event{UserID: u.ID, Kind: "signin", AppID: a.AppID, DeviceID: d.ID, Detail: "Signed in", CreatedAt: at}
	must(t, s.CreateSignIn(ctx, c, e))
	got, err := s.GetCode(ctx, c.Hash)
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(c) {
		t.Fatalf("GetCode = %+v, want %+v", got, c)
	}
	dev, err := s.GetDevice(ctx, d.ID)
	must(t, err)
	if !dev.LastSeenAt.Equal(at) {
		t.Fatalf("device last seen %v, want %v", dev.LastSeenAt, at)
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
}

func testSessions(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	se := storage.Session{Hash: h("sess"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
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
