package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanfree/scanfree/backend/storage"
)

// testDelete: deleting a person takes everything of hers in one step and
// leaves her audit events and everyone else's records; deleting an app
// takes what was issued for it and leaves the person. An unknown id is
// ErrNotFound.
func testDelete(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice, bob := seedUser(t, s, "alice"), seedUser(t, s, "bob")
	enrol(t, s, alice, "AL1")
	enrol(t, s, bob, "BO1")
	shop, forum := seedApp(t, s, "wx-shop"), seedApp(t, s, "wx-forum")
	code := func(u storage.User, app storage.App, tag, device string) storage.Code {
		c := storage.Code{Hash: h("code-" + tag), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: u.ID, DeviceID: device,
			Scope: "openid", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute), Face: storage.FaceOIDC}
		must(t, putCode(ctx, s, c))
		return c
	}
	for tag, c := range map[string]storage.Code{"a-shop": code(alice, shop, "a-shop", "AL1"), "b-shop": code(bob, shop, "b-shop", "BO1"),
		"b-forum": code(bob, forum, "b-forum", "BO1")} {
		must(t, s.RedeemCode(ctx, c.Hash, now, tokensFor(c, tag)))
	}
	gone := func(tags ...string) {
		t.Helper()
		for _, tag := range tags {
			_, err := s.GetToken(ctx, h(tag))
			wantErr(t, err, storage.ErrNotFound)
		}
	}
	pending := code(alice, forum, "a-pending", "")
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-alice"), UserID: alice.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.PutConsent(ctx, storage.Consent{UserID: alice.ID, AppID: forum.AppID, LoginAt: now}))
	must(t, s.PutConsent(ctx, storage.Consent{UserID: bob.ID, AppID: forum.AppID, LoginAt: now}))
	must(t, s.CreateAuthRequest(ctx, storage.AuthRequest{ID: "ar-forum", ClientID: forum.AppID, RedirectURI: "https://rp.example/cb",
		Scope: "openid", MaxAge: -1, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))

	must(t, s.DeleteUser(ctx, alice.ID))
	wantErr(t, s.DeleteUser(ctx, alice.ID), storage.ErrNotFound)
	_, err := s.GetUser(ctx, alice.ID)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "alice")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetDevice(ctx, "AL1")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, h("s-alice"))
	wantErr(t, err, storage.ErrNotFound)
	gone("at-a-shop", "rt-a-shop")
	if _, err := s.GetToken(ctx, h("rt-b-shop")); err != nil {
		t.Fatalf("bob's token after deleting alice: %v", err)
	}
	_, err = s.GetCode(ctx, pending.Hash)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetConsent(ctx, alice.ID, forum.AppID)
	wantErr(t, err, storage.ErrNotFound)
	if g, err := s.ListGrants(ctx, alice.ID); err != nil || len(g) != 0 {
		t.Fatalf("alice's grants after deleting her: %+v %v", g, err)
	}
	if ev, err := s.ListEvents(ctx, alice.ID, "signin", 10); err != nil || len(ev) == 0 {
		t.Fatalf("alice's audit events went with her: %+v %v", ev, err)
	}
	// The username is free again, for someone new with a new id.
	must(t, s.CreateUser(ctx, storage.User{ID: "u-alice-2", Username: "alice", Nickname: "Alice Two", PasswordHash: "$argon2id$y", CreatedAt: now}))
	if d, err := s.GetDevice(ctx, "BO1"); err != nil || !d.Active() {
		t.Fatalf("bob's desktop after deleting alice: %+v %v", d, err)
	}

	must(t, s.DeleteApp(ctx, shop.AppID))
	wantErr(t, s.DeleteApp(ctx, shop.AppID), storage.ErrNotFound)
	_, err = s.GetApp(ctx, shop.AppID)
	wantErr(t, err, storage.ErrNotFound)
	gone("at-b-shop", "rt-b-shop")
	wantErr(t, s.RotateToken(ctx, h("rt-b-shop"), now.Add(time.Minute), nil), storage.ErrNotFound)
	if g, _ := s.ListGrants(ctx, bob.ID); len(g) != 1 || g[0].AppID != forum.AppID {
		t.Fatalf("bob's grants after deleting the shop: %+v", g)
	}
	must(t, s.DeleteApp(ctx, forum.AppID))
	_, err = s.GetConsent(ctx, bob.ID, forum.AppID)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetAuthRequest(ctx, "ar-forum")
	wantErr(t, err, storage.ErrNotFound)
	if _, err := s.GetUser(ctx, bob.ID); err != nil {
		t.Fatalf("bob after deleting his apps: %v", err)
	}
	if ev, err := s.ListEvents(ctx, bob.ID, "signin", 10); err != nil || len(ev) != 2 {
		t.Fatalf("bob's sign-in events after deleting the apps: %+v %v", ev, err)
	}
}

// testSessionLists: a person's web sessions and sign-ins to apps are
// listed newest first, hers only; one of each ends on its own.
func testSessionLists(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	alice, bob := seedUser(t, s, "alice"), seedUser(t, s, "bob")
	app := seedApp(t, s, "wx-list")
	for i, u := range []storage.User{alice, alice, bob} {
		must(t, s.CreateSession(ctx, storage.Session{Hash: h(fmt.Sprint("ls-", i)), UserID: u.ID, CreatedAt: now.Add(time.Duration(i) * time.Minute), ExpiresAt: now.Add(time.Hour)}))
		c := storage.Code{Hash: h(fmt.Sprint("lc-", i)), AppID: app.AppID, RedirectURI: "https://rp.example/cb", UserID: u.ID,
			Scope: "openid", CreatedAt: now.Add(time.Duration(i) * time.Minute), ExpiresAt: now.Add(time.Hour), Face: storage.FaceOIDC}
		must(t, putCode(ctx, s, c))
		must(t, s.RedeemCode(ctx, c.Hash, now.Add(time.Duration(i)*time.Minute), tokensFor(c, fmt.Sprint("lt-", i))))
	}
	ses, err := s.ListSessions(ctx, alice.ID)
	must(t, err)
	if len(ses) != 2 || !bytes.Equal(ses[0].Hash, h("ls-1")) || !ses[0].CreatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("alice's sessions: %+v", ses)
	}
	fams, err := s.ListFamilies(ctx, alice.ID)
	must(t, err)
	if len(fams) != 2 || !bytes.Equal(fams[0].ID, h("lc-1")) || fams[0].AppID != app.AppID || !fams[0].RevokedAt.IsZero() {
		t.Fatalf("alice's families: %+v", fams)
	}
	must(t, s.TouchSession(ctx, ses[0].Hash, now.Add(30*time.Minute)))
	if se, err := s.GetSession(ctx, ses[0].Hash); err != nil || !se.LastSeenAt.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("a touched session: %+v %v", se, err)
	}
	must(t, s.DeleteSession(ctx, ses[0].Hash))
	wantErr(t, s.TouchSession(ctx, ses[0].Hash, now), storage.ErrNotFound)
	must(t, s.RevokeFamily(ctx, fams[0].ID, now.Add(time.Hour)))
	if ses, _ := s.ListSessions(ctx, alice.ID); len(ses) != 1 {
		t.Fatalf("alice's sessions after ending one: %+v", ses)
	}
	if fams, _ := s.ListFamilies(ctx, alice.ID); len(fams) != 2 || !fams[0].RevokedAt.Equal(now.Add(time.Hour)) || !fams[1].RevokedAt.IsZero() {
		t.Fatalf("alice's families after revoking one: %+v", fams)
	}
	if ses, _ := s.ListSessions(ctx, "nobody"); len(ses) != 0 {
		t.Fatalf("nobody's sessions: %+v", ses)
	}
}

// testAppFence: an app's fence survives creation and update.
func testAppFence(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	a := seedApp(t, s, "wx-fenced")
	if got, _ := s.GetApp(ctx, a.AppID); !got.Fence.IsZero() {
		t.Fatalf("a new app's fence: %+v", got.Fence)
	}
	a.Fence = storage.Fence{CIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}, Countries: []string{"CN", "SG"}}
	must(t, s.UpdateApp(ctx, a))
	got, err := s.GetApp(ctx, a.AppID)
	must(t, err)
	if fmt.Sprint(got.Fence) != fmt.Sprint(a.Fence) {
		t.Fatalf("fence %+v, want %+v", got.Fence, a.Fence)
	}
	b := storage.App{AppID: "wx-fenced-2", Name: "F2", Owner: "o", RedirectURIs: []string{"https://rp.example/cb"}, CreatedAt: now,
		Fence: storage.Fence{Countries: []string{"DE"}}}
	must(t, s.CreateApp(ctx, b))
	if apps, _ := s.ListApps(ctx); len(apps) != 2 || fmt.Sprint(apps[1].Fence) != fmt.Sprint(b.Fence) {
		t.Fatalf("listed fences: %+v", apps)
	}
}

// testProfile: a person's name and picture change; an unknown person is
// ErrNotFound.
func testProfile(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	must(t, s.SetProfile(ctx, u.ID, "Alice Liddell", "https://a.example/new.png"))
	got, err := s.GetUser(ctx, u.ID)
	must(t, err)
	if got.Nickname != "Alice Liddell" || got.AvatarURL != "https://a.example/new.png" || got.Username != "alice" {
		t.Fatalf("after SetProfile: %+v", got)
	}
	wantErr(t, s.SetProfile(ctx, "nobody", "x", ""), storage.ErrNotFound)
}

// testPasswordReset: a reset link works once, before it expires, and its
// use signs the person out everywhere with the new password; of racing
// uses exactly one wins.
func testPasswordReset(t *testing.T, s storage.Storage) {
	ctx := context.Background()
	u := seedUser(t, s, "alice")
	must(t, s.CreateSession(ctx, storage.Session{Hash: h("s-reset"), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	must(t, s.CreatePasswordReset(ctx, h("reset-1"), u.ID, now, now.Add(24*time.Hour)))
	must(t, s.CreatePasswordReset(ctx, h("reset-old"), u.ID, now, now.Add(time.Minute)))
	_, err := s.UsePasswordReset(ctx, h("reset-old"), "x", now.Add(2*time.Minute))
	wantErr(t, err, storage.ErrNotFound)
	id, err := s.UsePasswordReset(ctx, h("reset-1"), "new-hash", now.Add(time.Hour))
	must(t, err)
	if got, _ := s.GetUser(ctx, u.ID); id != u.ID || got.PasswordHash != "new-hash" {
		t.Fatalf("after the reset: %s %+v", id, got)
	}
	_, err = s.GetSession(ctx, h("s-reset"))
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.UsePasswordReset(ctx, h("reset-1"), "again", now.Add(time.Hour))
	wantErr(t, err, storage.ErrNotFound)

	must(t, s.CreatePasswordReset(ctx, h("reset-race"), u.ID, now, now.Add(time.Hour)))
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 6 {
		wg.Go(func() {
			if _, err := s.UsePasswordReset(ctx, h("reset-race"), fmt.Sprint("race-", i), now); err == nil {
				won.Add(1)
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a racing use: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d racing uses of one link won, want 1", won.Load())
	}
}
