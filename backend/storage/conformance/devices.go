package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

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

	d := storage.Device{ID: "d1", UserID: u.ID, Name: "laptop", OS: "linux", CredentialHash: h("cred1"), CreatedAt: now, LastSeenAt: now, LastAddr: "192.0.2.1"}
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, d, 0), storage.ErrNotPending) // not approved yet
	must(t, s.DecideDeviceAuth(ctx, "BCDFGHJK", u.ID, true))
	wantErr(t, s.DecideDeviceAuth(ctx, "BCDFGHJK", u.ID, false), storage.ErrNotPending)
	wantErr(t, s.DecideDeviceAuth(ctx, "ZZZZZZZZ", u.ID, true), storage.ErrNotFound)

	wrongUser := d
	wrongUser.UserID = "u-mallory"
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, wrongUser, 0), storage.ErrNotPending)
	must(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, d, 0))
	wantErr(t, s.CompleteDeviceAuth(ctx, da.DeviceCodeHash, storage.Device{ID: "d2", UserID: u.ID, CredentialHash: h("cred2")}, 0), storage.ErrNotPending)
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
	wantErr(t, s.CompleteDeviceAuth(ctx, da2.DeviceCodeHash, storage.Device{ID: "d3", UserID: u.ID, CredentialHash: h("cred3")}, 0), storage.ErrNotPending)
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
	must(t, s.CompleteDeviceAuth(ctx, h("dc-"+id), d, 0))
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

	// Two desktops of one name are told apart by renaming one; only by her.
	must(t, s.RenameDevice(ctx, alice.ID, "A2", "Work laptop"))
	if d, err := s.GetDevice(ctx, "A2"); err != nil || d.Name != "Work laptop" {
		t.Fatalf("renamed device = %+v, %v", d, err)
	}
	wantErr(t, s.RenameDevice(ctx, bob.ID, "A2", "Mine now"), storage.ErrNotFound)
	wantErr(t, s.RenameDevice(ctx, alice.ID, "nope", "x"), storage.ErrNotFound)

	// A desktop's credential is bound to its proof key once; a second
	// binding (another key, or the same again) is refused.
	must(t, s.BindDeviceKey(ctx, "A2", "jkt-one", "software"))
	if d, err := s.GetDevice(ctx, "A2"); err != nil || d.KeyThumbprint != "jkt-one" || d.KeyProtection != "software" {
		t.Fatalf("bound device = %+v, %v", d, err)
	}
	wantErr(t, s.BindDeviceKey(ctx, "A2", "jkt-two", "tpm"), storage.ErrAlreadyExists)
	wantErr(t, s.BindDeviceKey(ctx, "A2", "jkt-one", "software"), storage.ErrAlreadyExists)
	wantErr(t, s.BindDeviceKey(ctx, "nope", "jkt-one", "software"), storage.ErrNotFound)
	wantErr(t, s.SetDeviceKeyProtection(ctx, "A2", "jkt-two", "tpm"), storage.ErrNotFound) // not its key
	must(t, s.SetDeviceKeyProtection(ctx, "A2", "jkt-one", "tpm"))
	if d, _ := s.GetDevice(ctx, "A2"); d.KeyProtection != "tpm" || d.KeyThumbprint != "jkt-one" {
		t.Fatalf("after SetDeviceKeyProtection: %+v", d)
	}
	must(t, s.SetDevicePosture(ctx, "A2", `{"os":"linux"}`))
	if d, _ := s.GetDevice(ctx, "A2"); d.Posture != `{"os":"linux"}` {
		t.Fatalf("after SetDevicePosture: %+v", d)
	}
	wantErr(t, s.SetDevicePosture(ctx, "nope", `{}`), storage.ErrNotFound)
	if d, _ := s.GetDevice(ctx, "A2"); d.KeyThumbprint != "jkt-one" {
		t.Fatalf("a second binding changed the key: %+v", d)
	}

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

// testDisableUser: offboarding takes everything at once (desktops, token
// families, web sessions, pending codes) and leaves the account's
// record; enabling lets the person in again without giving back what was
// revoked. Roles are set and taken away.
func testDisableUser(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice, bob := seedUser(t, s, "alice"), seedUser(t, s, "bob")
	if !alice.Active() || alice.Role != "" {
		t.Fatalf("a new user: %+v", alice)
	}
	enrol(t, s, alice, "AL1")
	enrol(t, s, bob, "BO1")
	app := seedApp(t, s, "wx-off")
	code := func(u storage.User, name, device string) storage.Code {
		c := storage.Code{Hash: h("code-" + name), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: u.ID, DeviceID: device,
			Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC}
		must(t, putCode(ctx, s, c))
		return c
	}
	redeemed, pending, bobs := code(alice, "off-r", "AL1"), code(alice, "off-p", ""), code(bob, "off-b", "BO1")
	must(t, s.RedeemCode(ctx, redeemed.Hash, now, tokensFor(redeemed, "off-a")))
	must(t, s.RedeemCode(ctx, bobs.Hash, now, tokensFor(bobs, "off-b")))
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-alice"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-bob"), UserID: bob.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

	must(t, s.DisableUser(ctx, alice.ID, now.Add(time.Minute)))
	must(t, s.DisableUser(ctx, alice.ID, now.Add(2*time.Minute))) // keeps the first time
	wantErr(t, s.DisableUser(ctx, "nobody", now), storage.ErrNotFound)
	got, err := s.GetUser(ctx, alice.ID)
	must(t, err)
	if got.Active() || !got.DisabledAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("disabled user: %+v", got)
	}
	if d, err := s.GetDevice(ctx, "AL1"); err != nil || d.Active() {
		t.Fatalf("alice's desktop after disabling: %+v %v", d, err)
	}
	for _, tag := range []string{"at-off-a", "rt-off-a"} {
		if tk, err := s.GetToken(ctx, h(tag)); err != nil || tk.RevokedAt.IsZero() {
			t.Fatalf("%s after disabling: %+v %v", tag, tk, err)
		}
	}
	wantErr(t, s.RotateToken(ctx, h("rt-off-a"), now.Add(time.Hour), tokensFor(redeemed, "off-x")), storage.ErrRevoked)
	_, err = s.GetSession(ctx, h("s-alice"))
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetCode(ctx, pending.Hash)
	wantErr(t, err, storage.ErrNotFound)
	// Bob is untouched.
	if d, err := s.GetDevice(ctx, "BO1"); err != nil || !d.Active() {
		t.Fatalf("bob's desktop: %+v %v", d, err)
	}
	if tk, err := s.GetToken(ctx, h("rt-off-b")); err != nil || !tk.RevokedAt.IsZero() {
		t.Fatalf("bob's token: %+v %v", tk, err)
	}
	if _, err := s.GetSession(ctx, h("s-bob")); err != nil {
		t.Fatal(err)
	}

	must(t, s.EnableUser(ctx, alice.ID))
	if got, _ := s.GetUser(ctx, alice.ID); !got.Active() {
		t.Fatal("enabled user still disabled")
	}
	if d, _ := s.GetDevice(ctx, "AL1"); d.Active() {
		t.Fatal("enabling gave a revoked desktop back")
	}
	wantErr(t, s.EnableUser(ctx, "nobody"), storage.ErrNotFound)

	// Signing out everywhere takes bob's sign-ins, not his account.
	must(t, s.SignOutUser(ctx, bob.ID, now.Add(time.Hour)))
	if d, _ := s.GetDevice(ctx, "BO1"); d.Active() {
		t.Fatal("bob's desktop after signing out everywhere")
	}
	if tk, _ := s.GetToken(ctx, h("rt-off-b")); tk.RevokedAt.IsZero() {
		t.Fatal("bob's token after signing out everywhere")
	}
	_, err = s.GetSession(ctx, h("s-bob"))
	wantErr(t, err, storage.ErrNotFound)
	if got, _ := s.GetUser(ctx, bob.ID); !got.Active() {
		t.Fatal("signing out everywhere disabled the account")
	}
	wantErr(t, s.SignOutUser(ctx, "nobody", now), storage.ErrNotFound)

	// A new password ends alice's sign-ins made since, in the same step.
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-alice-2"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.SetPassword(ctx, alice.ID, "new-hash", now.Add(2*time.Hour)))
	if got, _ := s.GetUser(ctx, alice.ID); got.PasswordHash != "new-hash" {
		t.Fatalf("password hash after SetPassword: %q", got.PasswordHash)
	}
	_, err = s.GetSession(ctx, h("s-alice-2"))
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.SetPassword(ctx, "nobody", "x", now), storage.ErrNotFound)

	must(t, s.SetRole(ctx, bob.ID, storage.RoleAuditor))
	if got, _ := s.GetUser(ctx, bob.ID); got.Role != storage.RoleAuditor {
		t.Fatalf("role: %q", got.Role)
	}
	must(t, s.SetRole(ctx, bob.ID, ""))
	if got, _ := s.GetUser(ctx, bob.ID); got.Role != "" {
		t.Fatalf("role taken away: %q", got.Role)
	}
	wantErr(t, s.SetRole(ctx, "nobody", storage.RoleAdmin), storage.ErrNotFound)
}

// testDeviceCapRace: with three of a cap of five desktops enrolled, twenty
// approved enrolments completing at once enrol exactly two; the others get
// ErrTooManyDevices and stay approved (a later poll may still enrol one).
func testDeviceCapRace(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice-cap")
	for i := range 3 {
		enrol(t, s, u, fmt.Sprint("cap-", i))
	}
	const racers, limit = 20, 5
	for i := range racers {
		code := fmt.Sprintf("R%07d", i)
		must(t, s.CreateDeviceAuth(ctx, storage.DeviceAuth{DeviceCodeHash: h(code), UserCode: code, ClientID: "c",
			Status: storage.DeviceAuthPending, Interval: time.Second, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
		must(t, s.DecideDeviceAuth(ctx, code, u.ID, true))
	}
	var enrolled, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := fmt.Sprintf("R%07d", i)
			err := s.CompleteDeviceAuth(ctx, h(code), storage.Device{ID: "race-" + code, UserID: u.ID, CredentialHash: h("cred-" + code), CreatedAt: now, LastSeenAt: now}, limit)
			switch {
			case err == nil:
				enrolled.Add(1)
			case errors.Is(err, storage.ErrTooManyDevices):
				refused.Add(1)
			default:
				t.Errorf("complete %s: %v", code, err)
			}
		}()
	}
	wg.Wait()
	if enrolled.Load() != 2 || refused.Load() != racers-2 {
		t.Fatalf("%d enrolled and %d refused, want 2 and %d", enrolled.Load(), refused.Load(), racers-2)
	}
	all, err := s.ListDevices(ctx, u.ID)
	must(t, err)
	if len(all) != limit {
		t.Fatalf("%d devices, want %d", len(all), limit)
	}
	// A refused one is still approved: after a revocation it enrols.
	must(t, s.RevokeDevice(ctx, "cap-0", now))
	for i := range racers {
		code := fmt.Sprintf("R%07d", i)
		if da, err := s.GetDeviceAuth(ctx, h(code)); err == nil && da.Status == storage.DeviceAuthApproved {
			must(t, s.CompleteDeviceAuth(ctx, h(code), storage.Device{ID: "late-" + code, UserID: u.ID, CredentialHash: h("late-" + code), CreatedAt: now, LastSeenAt: now}, limit))
			return
		}
	}
	t.Fatal("no refused authorization stayed approved")
}
